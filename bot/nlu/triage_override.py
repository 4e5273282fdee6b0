"""Pipeline component: the deterministic safety net overrides the classifier's intent.

Its verdict is written into the parse data (`bot.nlu.verdict`), so the actions read it instead of
assessing the message a second time.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.verdict import TRIAGE_KEY, verdict_data
from bot.triage import URGENT_INTENT, assess, should_demote


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TriageOverride(GraphComponent):
    """Rules flag danger → `report_violence`; a classifier-only guess on an idiom or general question is overruled."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TriageOverride:
        """Create the component (it has no state)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Override the intent of messages the rules flag; record the verdict in `triage`."""
        for message in messages:
            text = message.get(TEXT) or ""
            result = assess(text)
            current = message.get(INTENT) or {}
            message.set(TRIAGE_KEY, verdict_data(result, current), add_to_output=True)
            if not result.urgent:
                if current.get("name") == URGENT_INTENT and should_demote(text, result):
                    self._demote(message)
                continue
            if current.get("name") == URGENT_INTENT:
                continue
            override = {"name": URGENT_INTENT, "confidence": 1.0}
            message.set(INTENT, override, add_to_output=True)
            ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != URGENT_INTENT]
            message.set(INTENT_RANKING_KEY, [override, *ranking], add_to_output=True)
        return messages

    @staticmethod
    def _demote(message: Message) -> None:
        """Replace a classifier-only urgent guess by the next intent in the ranking."""
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != URGENT_INTENT]
        fallback = ranking[0] if ranking else {"name": "nlu_fallback", "confidence": 0.0}
        message.set(INTENT, dict(fallback), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    def process_training_data(self, training_data: Any) -> Any:
        """Nothing to learn."""
        return training_data
