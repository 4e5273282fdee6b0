"""TriageOverride: the rules overrule the classifier, idioms are demoted, the verdict goes into the parse data."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.triage_override import TriageOverride
from bot.nlu.verdict import TRIAGE_KEY, read_verdict
from bot.triage import DANGER_NOW, NONE, URGENT_INTENT


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


def test_a_classifier_only_report_that_is_no_idiom_is_left_alone() -> None:
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
