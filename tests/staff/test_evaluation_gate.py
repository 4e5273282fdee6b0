"""The gate on the new evaluation figures: recall still refuses, the other triage bars are reported."""

from __future__ import annotations

from bot.staff.gate import decide


def figures(recall: float, **extra: float) -> dict:
    return {"intent_accuracy": 0.9, "urgent_recall": recall, "macro_f1": 0.8, **extra}


GOOD = {"false_alarm_rate": 0.02, "ambiguous_handled": 0.95, "calm_safety_check_rate": 0.05,
        "numbers_in_urgent_replies": 1.0}


def test_a_recall_drop_is_still_refused_with_every_new_figure_good() -> None:
    decision = decide(figures(0.97, **GOOD), figures(1.0, **GOOD))
    assert not decision.accepted
    assert [c.name for c in decision.checks if not c.passed] == ["urgent_recall"]


def test_the_new_bars_are_checked_and_reported_without_refusing() -> None:
    bad = {**GOOD, "false_alarm_rate": 0.05, "ambiguous_handled": 0.80, "calm_safety_check_rate": 0.20}
    decision = decide(figures(0.995, **bad), figures(0.99, **GOOD))
    assert decision.accepted and decision.reasons() == []
    failed = {c.name for c in decision.checks if not c.passed}
    assert failed == {"false_alarm_rate", "ambiguous_handled", "calm_safety_check_rate"}
    assert len(decision.warnings()) == 3
    assert any("5,0%" in w and "tối đa 3%" in w for w in decision.warnings())


def test_the_new_bars_pass_when_met() -> None:
    decision = decide(figures(0.99, **GOOD), None)
    assert decision.accepted and decision.warnings() == []
    assert {c.name for c in decision.checks} == {"urgent_recall", "intent_accuracy", *GOOD}


def test_an_urgent_reply_without_the_numbers_refuses_the_candidate() -> None:
    decision = decide(figures(1.0, **{**GOOD, "numbers_in_urgent_replies": 0.99}), None)
    assert not decision.accepted
    assert decision.reasons() == ["99,0% câu trả lời khẩn cấp có đủ số 113, 115, 111 và số tư vấn (yêu cầu ít nhất 100%)"]


def test_an_older_record_without_the_new_figures_is_judged_as_before() -> None:
    decision = decide(figures(0.99), figures(0.99))
    assert decision.accepted
    assert [c.name for c in decision.checks] == ["urgent_recall", "intent_accuracy"]
