"""The FAQ judge: right facts, wrong topic, honest "not sure", escalation, and the questions nobody can answer."""

from __future__ import annotations

from bot.staff.eval_faq import ESCALATED, RIGHT, UNSURE, WRONG, figures, has_diacritics, judge

ANSWERS = {"maternity_leave": "Lao động nữ được nghỉ thai sản 6 tháng.", "equal_pay": "Trả lương ngang nhau."}


def faq(topic: str, confidence: float = 0.9) -> dict:
    return {"intent": {"name": "faq", "confidence": confidence},
            "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{topic}"}}}}


def intent(name: str) -> dict:
    return {"intent": {"name": name, "confidence": 0.9}}


def test_the_right_topic_with_its_facts_is_right_and_without_them_wrong() -> None:
    q = {"text": "nghi thai san bao lau", "topic": "maternity_leave", "facts": ["6 tháng"]}
    assert judge(q, faq("maternity_leave"), ANSWERS) == (RIGHT, False)
    assert judge({**q, "facts": ["12 tháng"]}, faq("maternity_leave"), ANSWERS) == (WRONG, False)
    assert judge(q, faq("equal_pay"), ANSWERS) == (WRONG, False)


def test_fallback_is_unsure_for_a_question_on_file_and_right_for_one_that_is_not() -> None:
    assert judge({"text": "x", "topic": "equal_pay"}, intent("nlu_fallback"), ANSWERS) == (UNSURE, False)
    assert judge({"text": "x", "expect": "not_on_file"}, intent("nlu_fallback"), ANSWERS) == (RIGHT, False)
    assert judge({"text": "x", "expect": "not_on_file"}, faq("equal_pay"), ANSWERS) == (WRONG, False)


def test_urgent_routing_of_a_question_is_counted_apart() -> None:
    assert judge({"text": "x", "topic": "equal_pay"}, intent("report_violence"), ANSWERS) == (ESCALATED, False)


def test_did_you_mean_options_are_unsure_and_say_whether_they_named_the_topic() -> None:
    q = {"text": "x", "topic": "equal_pay"}
    assert judge(q, faq("maternity_leave", 0.3), ANSWERS, lambda p: ["faq/equal_pay", "faq/x"]) == (UNSURE, True)
    assert judge(q, faq("maternity_leave", 0.3), ANSWERS, lambda p: ["faq/x"]) == (UNSURE, False)
    assert judge(q, faq("equal_pay"), ANSWERS, lambda p: None) == (RIGHT, False)


def test_figures_split_by_diacritics() -> None:
    qs = [{"text": "nghỉ thai sản", "topic": "maternity_leave"}, {"text": "nghi thai san", "topic": "maternity_leave"}]
    result = figures(qs, [faq("maternity_leave"), faq("equal_pay")], ANSWERS)
    assert result["splits"]["answerable/with_diacritics"][RIGHT] == 1.0
    assert result["splits"]["answerable/without_diacritics"][WRONG] == 1.0
    assert result["wrong"] == [{"text": "nghi thai san", "gold": "maternity_leave", "got": "faq/equal_pay"}]
    assert has_diacritics("Chồng") and not has_diacritics("Chong")
