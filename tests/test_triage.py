"""The deterministic safety net: urgent reports are caught with or without diacritics; questions are not."""

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import fold
from bot.triage import DANGER_NOW, NEEDS_SUPPORT, NONE, _Then, assess, combine, should_demote

DANGER = [
    "Chồng tôi đang đánh tôi, cứu tôi với",
    "ck e dang danh e",
    "cứu em với",
    "ổng cầm dao đòi chém cả nhà",
    "nó dọa sẽ giết mẹ con tôi nếu tôi bỏ đi",
    "tôi không muốn sống nữa",
    "em định uống hết vỉ thuốc cho xong",
    "mình muốn chết quá, không còn lý do gì để sống",
    "bố dượng đang bóp cổ mẹ em",
    "tôi bị nhốt trong phòng 2 ngày nay",
    "họ giữ hộ chiếu và không cho tôi về",
    "chị tôi bị lừa bán sang Trung Quốc",
    "con toi bi bo duong danh chay mau dau",
    "CUU TOI",
]

SUPPORT = [
    "chồng tôi hay đánh tôi mỗi khi say",
    "tuần trước tôi bị ck tát",
    "em bị bố mẹ ép lấy chồng năm 16 tuổi",
    "ổng chửi bới tui suốt ngày",
    "anh ấy không cho tôi tiền, giữ hết lương của tôi",
    "bạn trai cũ dọa tung ảnh nóng của em",
    "tui bị sếp sàm sỡ ở công ty",
    "hàng xóm nhà tôi đánh vợ dã man",
    "con gái tôi bị thầy giáo xâm hại",
    "mẹ chồng hành hạ tôi từ ngày về làm dâu",
]

NOT_URGENT = [
    "Bạo lực gia đình bị phạt bao nhiêu tiền?",
    "Thế nào là bạo lực tinh thần?",
    "chồng đánh vợ có bị đi tù không",
    "phụ nữ bị bạo lực thì được hỗ trợ gì",
    "khi bị bạo lực cần giữ bằng chứng gì",
    "số đường dây nóng hỗ trợ nạn nhân bị bạo hành là số mấy",
    "làm sao để giúp một người bạn bị chồng đánh",
    "tôi cần tư vấn về luật hôn nhân",
    "từ từ rồi tính",
    "giá xăng đang giảm",
    "cựu chiến binh phường tôi tổ chức họp",
    "mệt muốn chết luôn",
    "sáng nay đánh răng chưa con",
    "đánh giá chất lượng dịch vụ",
    "điện thoại bị tắt nguồn",
    "con tôi bị gãy tay do ngã xe đạp",
    "tết giết gà cúng ông bà",
    "chồng tôi đánh cờ tướng giỏi lắm",
    "xin chào",
    "chủ đề tháng hành động năm nay là gì",
]


@pytest.mark.parametrize("text", DANGER)
def test_danger_now_with_and_without_diacritics(text: str) -> None:
    for variant in (text, fold(text)):
        result = assess(variant)
        assert result.urgency == DANGER_NOW, variant
        assert result.reasons


@pytest.mark.parametrize("text", SUPPORT)
def test_needs_support_with_and_without_diacritics(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgency in (NEEDS_SUPPORT, DANGER_NOW), variant


@pytest.mark.parametrize("text", NOT_URGENT)
def test_questions_and_idioms_are_not_urgent(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgency == NONE, variant


def test_negation_is_not_a_report() -> None:
    assert assess("chồng tôi không đánh tôi, chỉ hơi khó tính").urgency == NONE


def test_question_with_a_concrete_victim_is_still_urgent() -> None:
    assert assess("chồng tôi đánh tôi thì có bị phạt không").urgent


def test_injury_lifts_support_to_danger() -> None:
    assert assess("tôi bị chồng đánh").urgency == NEEDS_SUPPORT
    assert assess("tôi bị chồng đánh chảy máu đầu").urgency == DANGER_NOW


def test_combine_lets_the_classifier_add_cases_but_not_remove_them() -> None:
    rules = assess("ck e dang danh e")
    assert combine(rules, "greet", 0.99) == rules
    calm = assess("dạo này em buồn lắm")
    assert combine(calm, "report_violence", 0.9).urgency == NEEDS_SUPPORT
    assert not combine(calm, "report_violence", 0.2).urgent
    assert not combine(calm, "faq", 0.9).urgent


@pytest.mark.parametrize(("text", "demote"), [
    ("ngon muốn chết luôn á", True),
    ("đánh trống khai giảng lúc mấy giờ", True),
    ("bạo lực kinh tế gồm những hành vi nào", True),
    ("chồng tôi hay đánh tôi", False),
    ("dạo này em sợ về nhà lắm", False),
])
def test_should_demote_only_idioms_and_general_questions(text: str, demote: bool) -> None:
    assert should_demote(text) is demote


@pytest.mark.parametrize("text", [
    "ổng nói tui mà báo công an là ổng giết cả nhà tui",  # "giết cả" must not read as "giết cá"
    "con gái tôi nhốt mình trong phòng nói muốn chết",  # "trong phòng" must not read as "trồng"
    "nó dọa tung lên mạng nếu em không gửi tiền",
])
def test_folding_collisions_do_not_hide_danger(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgent, variant


def test_classifier_only_level_follows_present_cues() -> None:
    calm = assess("em sợ lắm")
    assert combine(calm, "report_violence", 0.9, text="nó lại say về, em đang trốn trong nhà tắm").urgency == DANGER_NOW
    assert combine(calm, "report_violence", 0.9, text="dạo này em sợ về nhà lắm").urgency == NEEDS_SUPPORT


@pytest.mark.parametrize("text", [
    "ông hàng xóm cứ rủ con bé vào nhà rồi sờ soạng",
    "chồng cấm tôi về thăm bố mẹ đẻ, đi đâu cũng phải gửi ảnh",
    "họ tịch thu điện thoại và giấy tờ của em",
    "vợ hay cào cấu tôi",
])
def test_control_and_indirect_sexual_abuse(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgent, variant


@pytest.mark.parametrize("text", [
    "xem phim thấy cảnh chồng đánh vợ mà sợ",
    "đọc báo có vụ bố dượng hành hạ con riêng",
    "đau đầu như búa bổ",
    "bỏ đói con cái cũng là bạo lực hả",
    "nếu nghi bạn mình bị bạo hành thì nên nói gì",
])
def test_retellings_similes_and_hypotheticals(text: str) -> None:
    assert not assess(text).urgent


def test_media_does_not_hide_the_writers_own_report() -> None:
    assert assess("chồng tôi xem phim xong thì đánh tôi").urgent


# --- linear time on long input (issue 11: `a.*b` rules were quadratic) ---------------------------------

LONG_REPEATS = ("giup toi voi ", "dang o ngoai cua ", "giu giay to ", "bi bat giu ")


@pytest.mark.parametrize("phrase", LONG_REPEATS)
def test_long_repeated_prefixes_are_assessed_in_linear_time(phrase):
    text = (phrase * 6000)[:64000]  # was 11 s for the first phrase
    start = time.perf_counter()
    assess(text)
    assert time.perf_counter() - start < 1.0
    assert assess(text + " no danh toi").urgent  # the danger words at the end are still found


_WORDS = ["giup", "toi", "voi", "danh", "dang", "o", "ngoai", "cua", "giet", "giu", "giay", "to", "khong",
          "cho", "ve", "bi", "bat", "doi", "tien", "bien", "gioi", "em", "chem", "hom", "nay"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=25))
def test_then_matches_exactly_what_the_backtracking_pattern_matched(words):
    text = " ".join(words)
    pairs = [(r"\b(?:giup|cuu) (?:toi|em) voi\b", r"\b(?:danh|giet|chem)"),
             (r"\b(?:dang|van dang) o (?:ngoai|truoc) cua\b", r"\b(?:danh|giet|chem)"),
             (r"\bgiu (?:giay to)\b", r"\bkhong cho (?:\w+ )?(?:ve|ra|di)\b"),
             (r"\bbi bat giu\b", r"\b(?:doi tien|bien gioi|khong cho)\b")]
    for first, then in pairs:
        assert _Then(first, then).search(text) == bool(re.search(first + ".*" + then, text)), (first, text)


# --- harms the first wave under-covered (issue 9) ----------------------------------------------------
# Every example was written for this file; none is copied from data/nlu. Each is checked with and without diacritics.

HARMS_SUPPORT = {
    "workplace_harassment": [
        "tôi bị tổ trưởng sờ ngực rồi còn chế giễu trước cả tổ",
        "quản lý ca cứ bóp mông em rồi cười nhạo em trước mặt mọi người",
        "ở xưởng anh trưởng ca hay sờ mó tụi em, ai phản đối là bị trừ lương",
        "đồng nghiệp nam cứ ôm eo em dù em đã từ chối",
    ],
    "school_harassment": [
        "thầy chủ nhiệm nhắn tin gạ em đi nhà nghỉ",
        "mấy bạn nam trong lớp hay tụt quần em rồi quay video chế giễu",
        "em bị cả lớp bắt nạt, tụi nó chụp lén em trong nhà vệ sinh",
    ],
    "online_sextortion_deepfake": [
        "có người ghép mặt em vào clip nóng rồi đòi tiền",
        "nó đòi em chuyển 5 triệu nếu không sẽ gửi video khỏa thân cho bố mẹ em",
        "ảnh nhạy cảm của em bị người yêu cũ đăng lên nhóm zalo",
        "kẻ lạ dụ em gọi video khỏa thân rồi tống tiền",
    ],
    "stalking_doxxing": [
        "người yêu cũ lén gắn định vị vào xe máy của em",
        "có người đăng địa chỉ nhà và số điện thoại của tôi lên mạng kèm lời chửi",
        "anh ta bám theo em từ chỗ làm về tận nhà mấy hôm nay",
        "chồng cũ đứng rình trước cổng nhà tôi mỗi tối",
    ],
    "lgbt_family": [
        "em bị bố đánh vì là gay",
        "bố mẹ phát hiện em đồng tính, nói sẽ đưa em đi chữa bệnh",
        "gia đình ép mình đi chữa bệnh đồng tính",
        "mẹ đuổi em ra khỏi nhà vì em là người chuyển giới",
    ],
    "elder_abuse": [
        "mẹ tôi 80 tuổi bị con dâu bỏ đói",
        "con trai tôi hay chửi mắng, đuổi tôi ra khỏi nhà",
        "ông nội bị con cháu bỏ mặc một mình, không ai cho ăn",
        "thằng con ép tôi ký giấy sang tên nhà rồi đuổi tôi đi",
    ],
    "domestic_migrant_worker": [
        "em đi giúp việc nhà bên Đài Loan, chủ giữ hộ chiếu và không trả lương 3 tháng",
        "chủ nhà khóa cửa không cho em ra ngoài, em là ô sin",
        "công ty môi giới giữ passport của tôi",
        "em xuất khẩu lao động sang Ả Rập, bà chủ đánh em và không cho ăn",
    ],
    "child_neglect": [
        "nhà bên cạnh bỏ đứa nhỏ ở nhà một mình cả ngày không cho ăn",
        "bé hàng xóm bị bỏ đói, lúc nào cũng đi xin ăn",
        "hai đứa nhỏ bị bố mẹ bỏ mặc, không ai chăm",
    ],
    "child_marriage": [
        "bố mẹ định gả con bé 14 tuổi cho nhà bên kia",
        "nhà em bắt em 15 tuổi phải cưới chồng vào tháng sau",
        "bạn em mới 13 tuổi sắp bị gả đi",
    ],
}

HARMS_DANGER = {
    "self_harm_friend": [
        "bạn em nói muốn tự tử",
        "bạn thân nhắn tin tạm biệt, bảo không muốn sống nữa",
        "đứa bạn cùng phòng tự cắt tay tối qua",
    ],
    "third_party_now": [
        "chị tôi đang bị chồng đánh ngoài đường, gọi ai",
        "con hàng xóm đang bị đánh bằng thắt lưng",
        "chị gái tôi đang bị ông chồng nó đánh ngoài đường, giờ gọi ai được",
        "bé nhà bên đang bị bố nó quất roi, khóc ré lên",
    ],
}

HARMS_CALM = {
    "workplace_harassment": ["quản lý ca bắt em làm thêm giờ", "thầy giáo khen em học giỏi",
                             "quy định về quấy rối tình dục nơi làm việc là gì"],
    "online_sextortion_deepfake": ["deepfake là gì", "làm sao để ghép ảnh cưới cho đẹp"],
    "stalking_doxxing": ["theo dõi fanpage của hội ở đâu", "định vị văn phòng hội ở đâu",
                         "em muốn theo dõi lịch sự kiện của hội"],
    "lgbt_family": ["đồng tính có phải là bệnh không", "em bị gãy tay vì ngã xe",
                    "luật hôn nhân có công nhận người đồng tính không"],
    "elder_abuse": ["con trai tôi thi đỗ đại học", "con dâu tôi nấu ăn ngon", "người cao tuổi được hưởng trợ cấp gì"],
    "domestic_migrant_worker": ["xuất khẩu lao động Nhật cần giấy tờ gì", "thủ tục làm hộ chiếu ở đâu",
                                "em làm giúp việc nhà, chủ trả lương đúng hạn"],
    "child_neglect": ["con tôi ăn ít quá", "để con ở nhà một mình mấy tuổi thì được"],
    "child_marriage": ["tảo hôn là gì", "gà con 14 ngày tuổi ăn gì", "em gái tôi 25 tuổi sắp cưới"],
    "self_harm_friend": ["bạn em đang cần tư vấn", "từ từ rồi bạn sẽ quen"],
    "third_party_now": ["chị tôi đang đánh cầu lông ngoài sân", "con hàng xóm đang học bài"],
}


def _cases(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(family, text) for family, texts in table.items() for text in texts]


@pytest.mark.parametrize(("family", "text"), _cases(HARMS_SUPPORT))
def test_new_harms_open_a_case(family: str, text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgency in (NEEDS_SUPPORT, DANGER_NOW), (family, variant)


@pytest.mark.parametrize(("family", "text"), _cases(HARMS_DANGER))
def test_present_danger_to_someone_else_is_danger_now(family: str, text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgency == DANGER_NOW, (family, variant)


@pytest.mark.parametrize(("family", "text"), _cases(HARMS_CALM))
def test_new_harm_rules_leave_look_alikes_alone(family: str, text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgency == NONE, (family, variant)


@pytest.mark.parametrize("text", ["chồng tôi chưa bao giờ đánh tôi", "anh ấy không bao giờ đánh em",
                                  "bố em chẳng bao giờ đánh con"])
def test_never_is_a_negation(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgency == NONE, variant


NEW_LONG = ("quan ly ca ", "ghep mat em vao ", "dang bi ong ", "vi la gay ", "hoi xua haha ")


@pytest.mark.parametrize("phrase", NEW_LONG)
def test_new_patterns_are_linear_on_200kb(phrase: str) -> None:
    def timed(size: int, runs: int = 1) -> float:
        text = (phrase * (size // len(phrase) + 1))[:size] + " no danh toi"  # a rule fires: the context is read too
        best = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            assess(text)
            best = min(best, time.perf_counter() - start)
        return best

    timed(1_000)  # warm up
    assert (big := timed(200_000)) < 8.0, f"200 KB took {big:.2f}s"
    base, ten = timed(10_000, 2), timed(100_000, 2)
    assert ten < 30 * base + 0.2, f"10x the input took {ten / max(base, 1e-9):.0f}x the time"  # quadratic: ~100x


@pytest.mark.parametrize("text", [
    "chồng tôi đánh chúng tôi suốt",  # "đánh chữ" (typing) must not hide "đánh chúng tôi"
    "ổng say về đánh cả nhà",  # "đánh cá" (fishing) folds alike
    "bố đánh dữ lắm, em sợ",  # "đánh du kích" must not hide "đánh dữ"
    "em bị chồng đánh trong lúc ngủ",  # "đánh trống" (drum) must not hide "đánh trong lúc"
])
def test_hitting_idioms_do_not_hide_hitting(text: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgent, variant


# Wave 3 of the rules (issue 9's under-covered kinds), in the project's own wording.
@pytest.mark.parametrize(("text", "level"), [
    ("chồng bắt tôi quan hệ dù tôi không muốn, vậy có bình thường không", NEEDS_SUPPORT),
    ("anh ấy cứ đòi quan hệ khi em không đồng ý", NEEDS_SUPPORT),
    ("ck doa e phai chieu anh ta moi toi", NEEDS_SUPPORT),
    ("bạn em dạo này hay nghĩ quẩn, nói sống chẳng có ý nghĩa gì", DANGER_NOW),
    ("lam sao de chet ma khong dau", DANGER_NOW),
    ("có đứa lấy ảnh em ghép mặt vào clip sex rồi gửi cho người quen", NEEDS_SUPPORT),
    ("chồng cũ dọa sẽ bắt con đi không cho tôi gặp", NEEDS_SUPPORT),
])
def test_wave3_kinds_are_caught(text: str, level: str) -> None:
    assert assess(text).urgency == level
    assert assess(fold(text)).urgency == level


@pytest.mark.parametrize("text", [
    "đừng nghĩ quẩn nha mọi người, chuyện thi cử thôi",
    "vợ chồng quan hệ bao lâu một lần là bình thường",
    "ghep anh vui cho ban be xem",
    "ly hôn thì ai được nuôi con",
])
def test_wave3_words_in_calm_messages_stay_calm(text: str) -> None:
    assert assess(text).urgency == NONE
