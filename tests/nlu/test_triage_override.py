"""TriageOverride: the rules overrule the classifier, idioms are demoted, the verdict goes into the parse data."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

import bot.nlu.triage_override as override_module
from bot.nlu.triage_override import OTHER_LANGUAGE_INTENT, TriageOverride
from bot.nlu.verdict import TRIAGE_KEY, read_decision, read_verdict
from bot.triage import DANGER_NOW, NEEDS_SUPPORT, NONE, URGENT_INTENT, TriageResult
from bot.triage.policy import CALM, UNSURE, URGENT, WORRY_INTENT, Decision


def classified(text: str, intent: str, confidence: float, *others: tuple[str, float]) -> Message:
    ranking = [{"name": intent, "confidence": confidence}] + [{"name": n, "confidence": c} for n, c in others]
    return Message(data={TEXT: text, INTENT: {"name": intent, "confidence": confidence},
                         INTENT_RANKING_KEY: ranking})


def run(message: Message) -> Message:
    (out,) = TriageOverride().process([message])
    return out


def output(message: Message) -> dict[str, Any]:
    return message.as_dict(only_output_properties=True)


def test_a_report_the_classifier_missed_becomes_report_violence() -> None:
    message = run(classified("ck e dang danh e, cuu e", "greet", 0.7, ("faq", 0.2), (URGENT_INTENT, 0.1)))
    assert message.get(INTENT) == {"name": URGENT_INTENT, "confidence": 1.0}
    ranking = message.get(INTENT_RANKING_KEY)
    assert [r["name"] for r in ranking] == [URGENT_INTENT, "greet", "faq"]
    assert output(message)[INTENT]["name"] == URGENT_INTENT


def test_an_idiom_the_classifier_took_for_violence_is_demoted() -> None:
    message = run(classified("đánh răng xong rồi đi ngủ", URGENT_INTENT, 0.8, ("greet", 0.15), ("faq", 0.05)))
    assert message.get(INTENT) == {"name": "greet", "confidence": 0.15}
    assert [r["name"] for r in message.get(INTENT_RANKING_KEY)] == ["greet", "faq"]


def test_a_demoted_guess_with_nothing_else_ranked_becomes_fallback() -> None:
    message = run(classified("chết máy rồi", URGENT_INTENT, 0.6))
    assert message.get(INTENT) == {"name": "nlu_fallback", "confidence": 0.0}


def test_a_classifier_report_the_decision_keeps_urgent_is_left_alone(monkeypatch) -> None:
    # Was "a classifier-only report that is no idiom is left alone": now the decision says which band it is.
    fake_decide(monkeypatch, Decision(URGENT, TriageResult(NEEDS_SUPPORT, ("bộ phân loại",)), False, False, "vi"))
    message = run(classified("dạo này em sợ về nhà lắm", URGENT_INTENT, 0.8, ("greet", 0.2)))
    assert message.get(INTENT) == {"name": URGENT_INTENT, "confidence": 0.8}


def test_the_verdict_is_written_into_the_parse_data() -> None:
    message = run(classified("chồng tôi đang đánh tôi, cứu tôi với", "faq", 0.9))
    verdict = output(message)[TRIAGE_KEY]
    assert verdict["urgency"] == DANGER_NOW and "kêu cứu" in verdict["reasons"]
    assert verdict["classifier"] == {"name": "faq", "confidence": 0.9}  # what the classifier said before
    read = read_verdict(output(message))
    assert read is not None and read.urgency == DANGER_NOW and "kêu cứu" in read.reasons


def test_a_calm_message_gets_a_none_verdict_and_keeps_its_intent() -> None:
    message = run(classified("tháng hành động năm nay khi nào", "ask_campaign_dates", 0.95))
    assert message.get(INTENT)["name"] == "ask_campaign_dates"
    assert output(message)[TRIAGE_KEY]["urgency"] == NONE


@pytest.mark.parametrize("parse_data", [{}, {TRIAGE_KEY: "danger"}, {TRIAGE_KEY: {"urgency": "panic"}},
                                        {TRIAGE_KEY: {"urgency": DANGER_NOW, "reasons": "kêu cứu"}}])
def test_a_missing_or_malformed_verdict_reads_as_none(parse_data) -> None:
    assert read_verdict(parse_data) is None


def fake_decide(monkeypatch, decision: Decision) -> list[tuple]:
    """Make `decide` return `decision`; the list records what it was called with."""
    calls: list[tuple] = []

    def decide(text, intent, confidence, ranking=(), rules=None):
        calls.append((text, intent, confidence, list(ranking)))
        return decision

    monkeypatch.setattr(override_module, "decide", decide)
    return calls


def test_an_unsure_decision_routes_to_describe_worry_and_is_recorded(monkeypatch) -> None:
    fake_decide(monkeypatch, Decision(UNSURE, TriageResult(), True, False, "vi"))
    message = run(classified("em sợ chồng em lắm, vậy có bình thường không", "faq", 0.6, (URGENT_INTENT, 0.3)))
    assert message.get(INTENT) == {"name": WORRY_INTENT, "confidence": 1.0}
    assert [r["name"] for r in message.get(INTENT_RANKING_KEY)] == [WORRY_INTENT, "faq", URGENT_INTENT]
    data = output(message)[TRIAGE_KEY]
    assert data == {"urgency": NONE, "reasons": [], "classifier": {"name": "faq", "confidence": 0.6},
                    "band": UNSURE, "asks": True, "personal": False, "language": "vi"}
    assert read_decision(output(message)) == Decision(UNSURE, TriageResult(), True, False, "vi")


def test_an_urgent_decision_overrides_any_intent(monkeypatch) -> None:
    fake_decide(monkeypatch, Decision(URGENT, TriageResult(DANGER_NOW, ("kêu cứu",)), False, False, "en"))
    message = run(classified("help, my husband is hitting me", "nlu_fallback", 0.45, ("greet", 0.3)))
    assert message.get(INTENT) == {"name": URGENT_INTENT, "confidence": 1.0}
    assert output(message)[TRIAGE_KEY]["language"] == "en"


@pytest.mark.parametrize("classifier", [URGENT_INTENT, WORRY_INTENT])
def test_a_calm_decision_never_leaves_a_triage_intent(monkeypatch, classifier) -> None:
    fake_decide(monkeypatch, Decision(CALM, TriageResult(), False, False, "vi"))
    other = WORRY_INTENT if classifier == URGENT_INTENT else URGENT_INTENT
    message = run(classified("hồi xưa bố tôi hay đánh mẹ, giờ bố mất rồi", classifier, 0.7, (other, 0.2),
                             ("faq", 0.1)))
    assert message.get(INTENT) == {"name": "faq", "confidence": 0.1}
    assert [r["name"] for r in message.get(INTENT_RANKING_KEY)] == ["faq"]


def test_a_calm_message_in_another_language_goes_to_other_language(monkeypatch) -> None:
    fake_decide(monkeypatch, Decision(CALM, TriageResult(), False, False, "en"))
    message = run(classified("what does this campaign do?", "faq", 0.5, ("greet", 0.2)))
    assert message.get(INTENT) == {"name": OTHER_LANGUAGE_INTENT, "confidence": 1.0}


def test_a_calm_vietnamese_message_keeps_the_classifier_intent(monkeypatch) -> None:
    fake_decide(monkeypatch, Decision(CALM, TriageResult(), False, True, "vi"))
    message = run(classified("bạo lực kinh tế là gì, nhà em cũng hơi vậy", "faq", 0.8, ("greet", 0.1)))
    assert message.get(INTENT) == {"name": "faq", "confidence": 0.8}
    assert output(message)[TRIAGE_KEY]["personal"] is True


def test_decide_gets_the_classifier_guess_not_the_fallback_classifier(monkeypatch) -> None:
    calls = fake_decide(monkeypatch, Decision(CALM, TriageResult(), False, False, "vi"))
    run(classified("ổng nóng tính hay đập đồ", "nlu_fallback", 0.45, (URGENT_INTENT, 0.4), ("faq", 0.3)))
    [(text, intent, confidence, ranking)] = calls
    assert (intent, confidence) == (URGENT_INTENT, 0.4)
    assert [r["name"] for r in ranking] == [URGENT_INTENT, "faq"]


def test_the_real_decision_routes_a_danger_now_report() -> None:
    message = run(classified("chồng em đang cầm dao đòi chém em, cứu em", "faq", 0.9))
    assert message.get(INTENT)["name"] == URGENT_INTENT
    decision = read_decision(output(message))
    assert decision is not None and decision.band == URGENT and decision.result.urgency == DANGER_NOW


def test_parse_data_of_an_older_model_reads_as_a_decision() -> None:
    old = {TRIAGE_KEY: {"urgency": DANGER_NOW, "reasons": ["kêu cứu"], "classifier": {"name": "faq"}}}
    assert read_decision(old) == Decision(URGENT, TriageResult(DANGER_NOW, ("kêu cứu",)), False, False, "vi")
    calm = {TRIAGE_KEY: {"urgency": NONE, "reasons": []}}
    assert read_decision(calm) == Decision(CALM, TriageResult(), False, False, "vi")


@pytest.mark.parametrize("triage", [
    {"urgency": NONE, "reasons": [], "band": "maybe"},
    {"urgency": DANGER_NOW, "reasons": ["kêu cứu"], "band": UNSURE},   # a danger level is never a question
    {"urgency": NONE, "reasons": [], "band": URGENT},
    {"urgency": NONE, "reasons": [], "band": CALM, "language": 3},
])
def test_a_malformed_decision_reads_as_none(triage) -> None:
    assert read_decision({TRIAGE_KEY: triage}) is None
