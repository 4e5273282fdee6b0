"""VietnameseTokenizer: tokens are folded, teencode-expanded words; spans point at the words as typed."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import TEXT, TEXT_TOKENS
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.tokenizer import VietnameseTokenizer


@pytest.fixture(scope="module")
def tokenizer() -> VietnameseTokenizer:
    return VietnameseTokenizer(VietnameseTokenizer.get_default_config())


def words(tokenizer: VietnameseTokenizer, text: str) -> list[str]:
    return [t.text for t in tokenizer.tokenize(Message(data={TEXT: text}), TEXT)]


@pytest.mark.parametrize("text", ["Chồng tôi đánh tôi", "chong toi danh toi", "CHỒNG TÔI ĐÁNH TÔI!"])
def test_with_or_without_diacritics_the_tokens_are_the_same(tokenizer, text) -> None:
    assert words(tokenizer, text) == ["chong", "toi", "danh", "toi"]


def test_teencode_is_expanded_and_spans_point_at_the_original_words(tokenizer) -> None:
    tokens = tokenizer.tokenize(Message(data={TEXT: "ck dánh e"}), TEXT)
    assert [(t.text, t.start, t.end) for t in tokens] == [("chong", 0, 2), ("danh", 3, 7), ("em", 8, 9)]


def test_one_shorthand_may_become_several_tokens_on_the_same_span(tokenizer) -> None:
    tokens = tokenizer.tokenize(Message(data={TEXT: "mn ơi"}), TEXT)
    assert [(t.text, t.start, t.end) for t in tokens] == [("moi", 0, 2), ("nguoi", 0, 2), ("oi", 3, 5)]


def test_text_without_words_still_gives_one_token(tokenizer) -> None:
    assert len(tokenizer.tokenize(Message(data={TEXT: "!!!"}), TEXT)) == 1


def test_process_sets_the_text_tokens(tokenizer) -> None:
    message = Message(data={TEXT: "tui bị đánh"})
    tokenizer.process([message])
    assert [t.text for t in message.get(TEXT_TOKENS)] == ["toi", "bi", "danh"]
