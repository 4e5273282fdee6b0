"""Context in the rules (issue 9): long ago and over, jokes, fiction, statistics, hypotheticals, a class of people.

Every example is written here, not copied from data/nlu; each is checked with and without diacritics.
"""

import pytest

from bot.text import fold
from bot.triage import DANGER_NOW, NONE, assess, explain
from bot.triage.context import read

PAST_AND_OVER = [
    "Hồi xưa bố tôi hay đánh mẹ tôi, giờ ông ấy đã mất mấy chục năm rồi",
    "10 năm trước chồng cũ từng đánh tôi, giờ đã ly hôn và sống yên ổn",
    "hồi nhỏ em bị bố đánh nhiều lắm, giờ thì ổn rồi",
    "ngày xưa mẹ chồng hành hạ tôi, bà đã mất năm ngoái",
    "cách đây 20 năm tôi bị chồng đánh, chúng tôi đã ly hôn từ lâu",
]
STILL_GOING_ON = [
    "hồi nhỏ em bị bố đánh, giờ em vẫn còn sợ về nhà",
    "đã ly hôn 5 năm nhưng chồng cũ vẫn đến đánh tôi",
    "mấy năm trước nó đánh tôi, giờ nó lại bắt đầu chửi bới tôi",
    "tôi đã ly hôn nhưng anh ta dọa tung ảnh nóng của tôi",
    "hồi xưa em từng muốn tự tử",  # self-harm is never set aside as "over"
]


@pytest.mark.parametrize("text", PAST_AND_OVER)
def test_abuse_long_ago_and_over_is_not_a_case(text: str) -> None:
    for variant in (text, fold(text)):
        a = explain(variant)
        assert a.raw.urgent, variant  # the rules still see the abuse ...
        assert a.result.urgency == NONE and a.demoted == "past", variant  # ... and the context sets it aside


@pytest.mark.parametrize("text", STILL_GOING_ON)
def test_a_present_effect_keeps_it_urgent(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgent, variant


@pytest.mark.parametrize("text", [
    "ổng mà biết chắc ổng giết tui luôn haha",
    "nó dọa giết tao kìa 😂",
    "chồng tôi mà đánh tôi thì tôi đánh lại, đùa thôi",
    "kkk bị ny dọa chém vì ăn hết bánh",
    "=)) vợ tao mà biết là tao bị đánh chết",
])
def test_a_joke_marker_sets_danger_words_aside(text: str) -> None:
    for variant in (text, fold(text)):
        a = explain(variant)
        assert a.raw.urgent and not a.result.urgent and a.demoted == "joke", variant


@pytest.mark.parametrize("text", [
    "haha cứu tôi với, chồng tôi đang cầm dao",  # a cry for help
    "kk ổng đang cầm dao đòi chém cả nhà",  # a weapon with "đang"
    "nó đang đánh em haha",  # an attack now
    "bị đánh chảy máu đầu rồi hihi",  # a serious injury
])
def test_jokes_never_hide_a_cry_for_help_a_weapon_now_or_an_attack(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgent, variant


@pytest.mark.parametrize(("text", "cue"), [
    ("trong phim, nhân vật nữ chính bị chồng đánh dã man", "media"),
    ("trong game nó dọa giết cả làng", "media"),
    ("theo khảo sát năm nay, chồng đánh vợ chiếm 30% số vụ", "modality"),
    ("báo đưa tin một người chồng đánh vợ nhập viện", "modality"),
    ("em đang làm bài thuyết trình về nạn chồng đánh vợ", "modality"),
    ("nếu một người vợ bị chồng đánh thì có được ly hôn không", "hypothetical"),
    ("giả sử chồng đánh vợ thì hàng xóm nên làm gì", "hypothetical"),
    ("nhiều ông chồng say rượu là đánh vợ", "class"),
])
def test_fiction_statistics_hypotheticals_and_classes_are_not_reports(text: str, cue: str) -> None:
    for variant in (text, fold(text)):
        a = explain(variant)
        assert not a.result.urgent and a.demoted == cue, (variant, a)


@pytest.mark.parametrize("text", [
    "tôi đọc báo mà nhớ chồng tôi cũng đánh tôi như vậy",
    "nếu chồng tôi lại đánh tôi thì tôi phải làm sao",
    "xem phim xong chồng tôi lao vào đánh tôi",
    "nó dọa nếu tôi bỏ đi sẽ giết cả nhà tôi",
])
def test_the_writers_own_report_survives_the_framing(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgent, variant


def test_cues_with_and_without_diacritics() -> None:
    for text, field in [("hồi xưa", "past"), ("giờ vẫn còn sợ", "present"), ("kkk", "joke"), ("😂", "joke"),
                        ("bộ phim", "fiction"), ("thống kê", "modality"), ("nếu mà", "hypothetical"),
                        ("nhiều ông chồng", "class_of_people")]:
        for variant in (text, fold(text)):
            assert getattr(read(variant), field), (variant, field)


@pytest.mark.parametrize("text", [
    "ngay trước mặt con nó chửi tôi",  # "ngay trước" (right in front of) is not "ngày trước" (formerly)
    "tôi cần tư vấn",  # "tư vấn" is not "vẫn"
    "anh ấy đáng sợ lắm",  # "đáng sợ" is not "đang"
    "ha",  # one "ha" is not laughter
])
def test_cue_look_alikes(text: str) -> None:
    ctx = read(text)
    assert not ctx.past and not ctx.joke and not ctx.present, text


def test_danger_now_stays_danger_now_when_nothing_sets_it_aside() -> None:
    assert assess("chồng tôi đang cầm dao đòi chém tôi").urgency == DANGER_NOW


@pytest.mark.parametrize("text", [
    "tiền học thêm tháng này giết tui luôn",  # a bill, not a person, "kills" the writer
    "đi chợ Tết bị chém giá đắt quá",  # "chém" is overcharging
    "nếu nhân vật trong truyện của em bị đe dọa thì viết thế nào",  # "của em bị" is the character, not the writer
    "anh ấy quay phim đám cưới đẹp lắm",  # filming is not a film
])
def test_hyperbole_slang_and_characters(text: str) -> None:
    for variant in (text, fold(text)):
        assert not assess(variant).urgent, variant


def test_filming_someone_is_not_fiction() -> None:
    assert assess("có thằng quay phim em lúc tắm rồi dọa tung lên mạng").urgent


@pytest.mark.parametrize("text", [
    "mới nãy ổng tát tui trước mặt mấy đứa nhỏ",  # "trước mặt mấy" is a face, not "mất mấy (năm)"
    "hồi nãy chồng em đánh em trước mặt hai năm đứa con",  # "hồi nãy" is earlier today
])
def test_just_now_is_not_long_ago(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgent, variant
