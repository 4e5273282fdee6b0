"""A whitespace tokenizer that folds diacritics and expands teencode before featurising."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.text import normalize

_WORD_RE = re.compile(r"\S+")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(WhitespaceTokenizer):
    """Tokens are normalised words; spans point at the original words."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Same options as the whitespace tokenizer."""
        return WhitespaceTokenizer.get_default_config()

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        """Split on whitespace, then normalise each word (one word may become several)."""
        text = message.get(attribute) or ""
        tokens: List[Token] = []
        for match in _WORD_RE.finditer(text):
            for word in normalize(match.group()).split():
                tokens.append(Token(word, match.start(), match.end()))
        if not tokens:
            tokens = [Token(text or "_", 0, len(text))]
        return self._apply_token_pattern(tokens)
