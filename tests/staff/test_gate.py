"""The regression gate decision on evaluation figures."""

from __future__ import annotations

import math

from bot.staff.gate import decide


def figures(accuracy: float | None, recall: float | None) -> dict:
    return {"intent_accuracy": accuracy, "urgent_recall": recall, "false_alarm_rate": 0.02, "macro_f1": 0.8}


def test_accepts_a_model_as_good_as_the_current_one() -> None:
    decision = decide(figures(0.90, 0.99), figures(0.90, 0.99))
    assert decision.accepted and decision.reasons() == []
    assert "(không đổi;" in decision.checks[1].detail
    assert "tăng 1,0 điểm" in decide(figures(0.91, 0.99), figures(0.90, 0.99)).checks[1].detail


def test_refuses_urgent_recall_below_the_bar() -> None:
    decision = decide(figures(0.95, 0.979), figures(0.90, 1.0))
    assert not decision.accepted
    assert [c.name for c in decision.checks if not c.passed] == ["urgent_recall"]
    assert "97,9%" in decision.reasons()[0]


def test_recall_exactly_at_the_bar_passes() -> None:
    assert decide(figures(0.9, 0.98), None).accepted


def test_refuses_an_accuracy_drop_of_more_than_two_points() -> None:
    decision = decide(figures(0.879, 1.0), figures(0.90, 1.0))
    assert not decision.accepted
    assert [c.name for c in decision.checks if not c.passed] == ["intent_accuracy"]
    assert "giảm 2,1 điểm" in decision.reasons()[0]


def test_a_drop_of_exactly_two_points_is_allowed() -> None:
    assert decide(figures(0.88, 1.0), figures(0.90, 1.0)).accepted


def test_both_failures_are_reported() -> None:
    decision = decide(figures(0.70, 0.60), figures(0.90, 0.99))
    assert not decision.accepted and len(decision.reasons()) == 2


def test_without_a_model_in_service_only_the_bar_applies() -> None:
    assert decide(figures(0.40, 0.99), None).accepted
    assert not decide(figures(0.99, 0.97), None).accepted


def test_missing_or_nan_figures_are_refused() -> None:
    assert not decide(figures(None, 0.99), figures(0.9, 0.99)).accepted
    assert not decide(figures(0.9, None), figures(0.9, 0.99)).accepted
    assert not decide(figures(0.9, math.nan), None).accepted
    assert not decide({}, None).accepted


def test_custom_thresholds() -> None:
    assert decide(figures(0.85, 0.95), figures(0.90, 1.0), min_urgent_recall=0.9, max_accuracy_drop=0.05).accepted
