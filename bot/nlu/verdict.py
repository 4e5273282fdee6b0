"""The triage verdict as it travels in Rasa's parse data, from `TriageOverride` to the actions.

Plain data and no Rasa import, so the action server reads the verdict without loading the NLU stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.triage import DANGER_NOW, NEEDS_SUPPORT, NONE, TriageResult

TRIAGE_KEY = "triage"
_LEVELS = {DANGER_NOW, NEEDS_SUPPORT, NONE}


def verdict_data(result: TriageResult, classifier: Mapping[str, Any]) -> dict[str, Any]:
    """The rule verdict and the classifier's own guess, for the parse data."""
    return {"urgency": result.urgency, "reasons": list(result.reasons), "classifier": dict(classifier)}


def read_verdict(parse_data: Mapping[str, Any]) -> TriageResult | None:
    """The rule verdict the pipeline wrote, or None when absent or malformed (an old model, a forced intent)."""
    data = parse_data.get(TRIAGE_KEY)
    if not isinstance(data, Mapping) or data.get("urgency") not in _LEVELS:
        return None
    reasons = data.get("reasons") or []
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return None
    return TriageResult(data["urgency"], tuple(reasons))
