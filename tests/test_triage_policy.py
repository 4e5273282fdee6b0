"""The band policy (issue 9): urgent → a case, unsure → a safety check, calm → an answer.

Examples are written here, not copied from data/nlu or tests/eval. The classifier's output is given explicitly.
"""

import pytest

from bot.text import fold
from bot.triage import DANGER_NOW, NEEDS_SUPPORT, NONE, TriageResult
from bot.triage.policy import (
    CALM,
    CLEAR_TOP,
    UNSURE,
    UNSURE_CONFIDENCE,
    URGENT,
    URGENT_CONFIDENCE,
    WORRY_CONFIDENCE,
    WORRY_INTENT,
    asks_question,
    decide,
)

RV = "report_violence"


def _rank(*pairs: tuple[str, float]) -> list[dict[str, object]]:
    return [{"name": name, "confidence": conf} for name, conf in pairs]


@pytest.mark.parametrize("intent", ["greet", WORRY_INTENT, "faq", None])
def test_danger_now_rules_always_open_a_case(intent: str | None) -> None:
    for text in ("ck e dang danh e, cuu e", "Chồng tôi đang cầm dao đòi chém tôi"):
        d = decide(text, intent, 0.99, _rank((intent or "greet", 0.99)))
        assert d.band == URGENT and d.result.urgency == DANGER_NOW, (text, intent)


def test_needs_support_rules_open_a_case_and_a_question_is_noted() -> None:
    text = "chồng giữ hết lương của tôi, như vậy có bình thường không?"
    for variant in (text, fold(text)):
        d = decide(variant, "faq", 0.9, _rank(("faq", 0.9)))
        assert d.band == URGENT and d.result.urgency == NEEDS_SUPPORT and d.asks, variant


@pytest.mark.parametrize("text", [
    "hồi nhỏ em bị bố đánh nhiều lắm, giờ thì ổn rồi, cho em hỏi luật trẻ em mới",
    "10 năm trước chồng cũ từng đánh tôi, giờ đã ly hôn và sống yên ổn",
])
def test_past_and_over_is_calm_and_personal_even_if_the_classifier_says_urgent(text: str) -> None:
    for variant in (text, fold(text)):
        d = decide(variant, RV, 0.95, _rank((RV, 0.95)))
        assert d.band == CALM and d.personal and d.result.urgency == NONE, variant


@pytest.mark.parametrize("text", ["ổng mà biết chắc ổng giết tui luôn haha", "kkk bị ny dọa chém vì ăn hết bánh"])
def test_a_joke_with_danger_words_gets_a_safety_check(text: str) -> None:
    for variant in (text, fold(text)):
        for intent in ("chitchat", RV):
            d = decide(variant, intent, 0.9, _rank((intent, 0.9)))
            assert d.band == UNSURE and d.result.urgency == NONE, (variant, intent)


def test_a_joke_never_hides_a_cry_for_help() -> None:
    assert decide("haha cứu tôi với, chồng tôi đang cầm dao", "chitchat", 0.9).band == URGENT


def test_classifier_alone_opens_a_case_with_the_level_of_its_cues() -> None:
    d = decide("dạo này em sợ về nhà lắm", RV, 0.8, _rank((RV, 0.8)))
    assert d.band == URGENT and d.result.urgency == NEEDS_SUPPORT and "bộ phân loại" in d.result.reasons[0]
    d = decide("nó lại say về, em đang trốn trong nhà tắm", RV, 0.8, _rank((RV, 0.8)))
    assert d.band == URGENT and d.result.urgency == DANGER_NOW


def test_classifier_urgent_guess_on_an_idiom_or_a_legal_question_is_calm() -> None:
    for text in ("ngon muốn chết luôn á", "bạo lực kinh tế gồm những hành vi nào"):
        assert decide(text, RV, 0.9, _rank((RV, 0.9))).band == CALM, text


def test_classifier_urgent_guess_on_statistics_or_fiction_is_calm() -> None:
    for text in ("thống kê số vụ bạo lực năm nay", "bộ phim đó có cảnh người chồng vũ phu"):
        assert decide(text, RV, 0.9, _rank((RV, 0.9))).band == CALM, text


@pytest.mark.parametrize(("ranking", "band"), [
    (_rank((WORRY_INTENT, WORRY_CONFIDENCE + 0.05)), UNSURE),
    (_rank((WORRY_INTENT, WORRY_CONFIDENCE - 0.05), ("faq", 0.3)), CALM),
    (_rank((RV, URGENT_CONFIDENCE - 0.05)), UNSURE),
    (_rank((RV, UNSURE_CONFIDENCE - 0.05), ("greet", 0.2)), CALM),
    (_rank(("faq", CLEAR_TOP - 0.2), (RV, UNSURE_CONFIDENCE + 0.05)), UNSURE),
    (_rank(("faq", CLEAR_TOP + 0.1), (RV, UNSURE_CONFIDENCE + 0.05)), CALM),
    (_rank(("faq", 0.5), ("greet", 0.3)), CALM),
])
def test_classifier_thresholds(ranking: list[dict[str, object]], band: str) -> None:
    top = ranking[0]
    d = decide("anh ấy lại thế nữa rồi", str(top["name"]), float(top["confidence"]), ranking)  # type: ignore[arg-type]
    assert d.band == band and (d.band == URGENT or d.result.urgency == NONE)


def test_helping_someone_being_hit_now_as_a_question_gets_a_safety_check() -> None:
    d = decide("làm sao để giúp một người đang bị chồng đánh", "faq", 0.9, _rank(("faq", 0.9)))
    assert d.band == UNSURE


def test_a_general_question_with_a_personal_note_is_personal() -> None:
    d = decide("cho em hỏi luật bình đẳng giới quy định gì, nhà em cũng có chuyện", "faq", 0.9, _rank(("faq", 0.9)))
    assert d.band == CALM and d.personal
    d = decide("cho em hỏi luật bình đẳng giới quy định gì", "faq", 0.9, _rank(("faq", 0.9)))
    assert d.band == CALM and not d.personal
    d = decide("hôm nay có sự kiện gì không?", "ask_events", 0.9, _rank(("ask_events", 0.9)))
    assert not d.personal


def test_a_verdict_passed_in_is_never_lowered() -> None:
    d = decide("xin chào", "greet", 0.99, rules=TriageResult(NEEDS_SUPPORT, ("x",)))
    assert d.band == URGENT and d.result.urgency == NEEDS_SUPPORT


def test_english_is_detected_and_urgent_english_opens_a_case() -> None:
    d = decide("My husband hit me again last night", "greet", 0.6, _rank(("greet", 0.6)))
    assert d.band == URGENT and d.language == "en"
    assert decide("ck e dang danh e", "greet", 0.5).language == "vi"


@pytest.mark.parametrize("text", ["", "   ", "😂", "<b>x</b>", "0912345678", "a" * 5000])
def test_bad_input_is_decided_without_error(text: str) -> None:
    d = decide(text, None, 0.0)
    assert d.band in (URGENT, UNSURE, CALM) and (d.band == URGENT or d.result.urgency == NONE)


@pytest.mark.parametrize(("text", "asks"), [
    ("ck giữ hết tiền vậy có bình thường không", True),
    ("nó đánh em thì có bị phạt không", True),
    ("em phải làm sao", True),
    ("như vậy có phải là bạo lực không", True),
    ("chồng tôi đánh tôi", False),
    ("em sợ lắm", False),
])
def test_asks(text: str, asks: bool) -> None:
    for variant in (text, fold(text)):
        assert asks_question(variant) is asks, variant


@pytest.mark.parametrize("text", [
    "Tôi ly hôn 8 năm rồi, hồi đó chồng cũ hay đánh tôi. Giờ tôi muốn hỏi về quyền nuôi con",
    "ông ngoại tôi mất mấy chục năm rồi, hồi xưa ông hay đánh bà tôi",
])
def test_the_abuse_told_after_its_time_marker_is_still_past(text: str) -> None:
    for variant in (text, fold(text)):
        d = decide(variant, RV, 0.9, _rank((RV, 0.9)))
        assert d.band == CALM and d.personal, variant


def test_a_threat_after_the_divorce_is_not_past() -> None:
    for text in ("đã ly hôn 3 năm nhưng anh ta dọa đánh tôi", "ly hôn rồi mà tuần nào nó cũng đến nhà dọa giết tôi"):
        assert decide(text, "faq", 0.9, _rank(("faq", 0.9))).band == URGENT, text


@pytest.mark.parametrize("text", [
    "làm sao để bảo vệ trẻ em khi lên mạng xã hội",
    "cách phòng tránh xâm hại cho con gái tuổi dậy thì",
    "tư vấn viên làm việc mấy giờ vậy ad",
    "tổng đài có trực cuối tuần không",
])
def test_general_protection_and_service_questions_overrule_a_classifier_guess(text: str) -> None:
    for variant in (text, fold(text)):
        assert decide(variant, RV, 0.7, _rank((RV, 0.7))).band == CALM, variant


def test_a_protection_question_about_my_own_child_is_not_overruled() -> None:
    assert decide("làm sao để bảo vệ con tôi khỏi bố dượng", RV, 0.7, _rank((RV, 0.7))).band == URGENT


def test_money_withheld_and_asked_about_is_a_case_that_also_asks() -> None:
    text = "chồng em giữ hết tiền, không cho em đồng nào, vậy có bình thường không ạ"
    for variant in (text, fold(text)):
        d = decide(variant, "faq", 0.6, _rank(("faq", 0.6)))
        assert d.band == URGENT and d.asks, variant
