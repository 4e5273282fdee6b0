"""The triage decision as it travels in Rasa's parse data, from `TriageOverride` to the actions.

Plain data and no Rasa import, so the action server reads the decision without loading the NLU stack.
Readers are tolerant: parse data from an older model (level and reasons only) reads as an urgent or calm
decision in Vietnamese; anything malformed reads as None, and the action decides for itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.triage import DANGER_NOW, NEEDS_SUPPORT, NONE, TriageResult
from bot.triage.policy import CALM, UNSURE, URGENT, Decision

TRIAGE_KEY = "triage"
_LEVELS = {DANGER_NOW, NEEDS_SUPPORT, NONE}
_BANDS = {URGENT, UNSURE, CALM}


def verdict_data(result: TriageResult, classifier: Mapping[str, Any]) -> dict[str, Any]:
    """The rule verdict and the classifier's own guess, for the parse data."""
    return {"urgency": result.urgency, "reasons": list(result.reasons), "classifier": dict(classifier)}


def decision_data(decision: Decision, classifier: Mapping[str, Any]) -> dict[str, Any]:
    """The whole decision (band, level, reasons, question, personal note, language) for the parse data."""
    return {**verdict_data(decision.result, classifier), "band": decision.band, "asks": bool(decision.asks),
            "personal": bool(decision.personal), "language": decision.language}


def read_verdict(parse_data: Mapping[str, Any]) -> TriageResult | None:
    """The rule verdict the pipeline wrote, or None when absent or malformed (an old model, a forced intent)."""
    data = parse_data.get(TRIAGE_KEY)
    if not isinstance(data, Mapping) or data.get("urgency") not in _LEVELS:
        return None
    reasons = data.get("reasons") or []
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return None
    return TriageResult(data["urgency"], tuple(reasons))


def read_decision(parse_data: Mapping[str, Any]) -> Decision | None:
    """The decision the pipeline wrote (older parse data: band from the level), or None when absent or malformed."""
    result = read_verdict(parse_data)
    if result is None:
        return None
    data = parse_data[TRIAGE_KEY]
    band = data.get("band", URGENT if result.urgent else CALM)
    language = data.get("language", "vi")
    if band not in _BANDS or (band == URGENT) != result.urgent or not isinstance(language, str) or not language:
        return None
    return Decision(band=band, result=result, asks=data.get("asks") is True, personal=data.get("personal") is True,
                    language=language)
