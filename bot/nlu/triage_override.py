"""Pipeline component: the triage decision, made once per message, routes the intent.

`bot.triage.policy.decide` reads the rules, the classifier's own guess (DIET, before the fallback
classifier or this component touched it) and the context cues, and returns a band. The decision is
written into the parse data (`bot.nlu.verdict`), so the actions read it instead of deciding again.
Routing guarantees: urgent → `report_violence` (a case); unsure → `describe_worry` (a safety check);
calm → never one of those two (the next intent of the ranking), and a calm message not in
Vietnamese → `other_language`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.verdict import TRIAGE_KEY, decision_data
from bot.triage import URGENT_INTENT
from bot.triage.policy import UNSURE, URGENT, WORRY_INTENT, decide

OTHER_LANGUAGE_INTENT = "other_language"
FALLBACK_INTENT = "nlu_fallback"
_TRIAGE_INTENTS = {URGENT_INTENT, WORRY_INTENT}


def classifier_guess(ranking: List[Mapping[str, Any]]) -> tuple[str | None, float]:
    """The classifier's best intent and confidence, ignoring the fallback classifier's entry."""
    for entry in ranking:
        if entry.get("name") != FALLBACK_INTENT:
            return entry.get("name"), float(entry.get("confidence") or 0.0)
    return None, 0.0


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TriageOverride(GraphComponent):
    """One triage decision per message: urgent → report_violence, unsure → describe_worry, calm → the rest."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TriageOverride:
        """Create the component (it has no state)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Decide, record the decision in `triage`, and route the intent by band and language."""
        for message in messages:
            text = message.get(TEXT) or ""
            current = message.get(INTENT) or {}
            ranking = list(message.get(INTENT_RANKING_KEY) or []) or ([current] if current.get("name") else [])
            intent, confidence = classifier_guess(ranking)
            diet = [r for r in ranking if r.get("name") != FALLBACK_INTENT]
            decision = decide(text, intent, confidence, diet)
            message.set(TRIAGE_KEY, decision_data(decision, current), add_to_output=True)
            if decision.band == URGENT:
                if current.get("name") != URGENT_INTENT:
                    self._route(message, URGENT_INTENT)
            elif decision.band == UNSURE:
                self._route(message, WORRY_INTENT)
            elif decision.language != "vi":
                self._route(message, OTHER_LANGUAGE_INTENT)
            elif current.get("name") in _TRIAGE_INTENTS:
                self._demote(message)
        return messages

    @staticmethod
    def _route(message: Message, name: str) -> None:
        """Make `name` the intent, first in the ranking (the decision is deterministic: confidence 1)."""
        override = {"name": name, "confidence": 1.0}
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != name]
        message.set(INTENT, override, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [override, *ranking], add_to_output=True)

    @staticmethod
    def _demote(message: Message) -> None:
        """Replace a triage intent the decision overruled by the next intent in the ranking."""
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") not in _TRIAGE_INTENTS]
        fallback = ranking[0] if ranking else {"name": FALLBACK_INTENT, "confidence": 0.0}
        message.set(INTENT, dict(fallback), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    def process_training_data(self, training_data: Any) -> Any:
        """Nothing to learn."""
        return training_data
