"""Pipeline component: a bare yes or no ("có", "ừ", "vâng", "không", "ko") is `affirm` or `deny`, always.

A one-word answer carries almost nothing for the classifier to read, so its confidence can fall under the
fallback threshold and the question the bot asked (delete my data? subscribe? are you safe?) goes unanswered.
Guarantees: only a message that is nothing but such words (after folding and teencode, a polite "ạ" allowed) is
routed, with confidence 1; anything longer is left to the classifier; the triage component runs after this one,
so an urgent message is never affected (and no bare yes or no is urgent).
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.text import normalize

YES = ("có", "co", "ừ", "ừm", "ờ", "uh", "vâng", "dạ", "dạ vâng", "dạ có", "đúng", "đúng rồi", "ok", "oke", "okay",
       "được", "đồng ý", "yes", "có chứ", "có ạ")
NO = ("không", "ko", "k", "hông", "hổng", "hok", "kg", "không ạ", "dạ không", "không cần", "thôi", "chưa", "no",
      "không đâu", "không có")
_POLITE = {"a", "nha", "nhe"}


def short_answer(text: str) -> str | None:
    """"affirm" or "deny" when the whole message is a bare yes or no, else None."""
    words = normalize(text).split()
    while words and words[-1] in _POLITE and len(words) > 1:
        words.pop()
    said = " ".join(words)
    if said in _YES:
        return "affirm"
    if said in _NO:
        return "deny"
    return None


_YES = frozenset(normalize(w) for w in YES)
_NO = frozenset(normalize(w) for w in NO)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ShortAnswers(GraphComponent):
    """Routes a bare yes or no to `affirm` / `deny` with confidence 1."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ShortAnswers:
        """Create the component (it has no state)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Set the intent of every bare yes or no."""
        for message in messages:
            name = short_answer(message.get(TEXT) or "")
            if name is None:
                continue
            chosen = {"name": name, "confidence": 1.0}
            ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != name]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        """Nothing to learn."""
        return training_data
