"""A bare yes or no is affirm / deny; anything longer, or urgent, is left to the classifier and triage."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.short_answers import ShortAnswers, short_answer


@pytest.mark.parametrize("text", ["có", "Có ạ", "co", "ừ", "vâng", "dạ có", "ok", "đồng ý", "có nha"])
def test_bare_yes_is_affirm(text: str) -> None:
    assert short_answer(text) == "affirm"


@pytest.mark.parametrize("text", ["không", "ko", "k", "hông", "không ạ", "thôi", "dạ không"])
def test_bare_no_is_deny(text: str) -> None:
    assert short_answer(text) == "deny"


@pytest.mark.parametrize("text", ["có, đang nguy hiểm", "không hiểu", "cứu", "có ai không", "ko biết", "ạ", "",
                                  "chồng đánh em", "có phải bạo lực không"])
def test_anything_else_is_left_alone(text: str) -> None:
    assert short_answer(text) is None


def test_the_component_puts_the_answer_first_with_confidence_one() -> None:
    message = Message(data={"text": "có", "intent": {"name": "nlu_fallback", "confidence": 0.45},
                            "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45},
                                               {"name": "affirm", "confidence": 0.38}]})
    ShortAnswers().process([message])
    assert message.get("intent") == {"name": "affirm", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["affirm", "nlu_fallback"]
    other = Message(data={"text": "xin chào", "intent": {"name": "greet", "confidence": 0.9}})
    ShortAnswers().process([other])
    assert other.get("intent") == {"name": "greet", "confidence": 0.9}
