"""The triage vocabulary: urgency levels and the verdict type. Imports nothing, so every triage module can use it."""

from __future__ import annotations

from dataclasses import dataclass, field

DANGER_NOW = "danger_now"
NEEDS_SUPPORT = "needs_support"
NONE = "none"
URGENT_INTENT = "report_violence"  # the intent whose rule opens a case

LEVEL_RANK = {NONE: 0, NEEDS_SUPPORT: 1, DANGER_NOW: 2}


@dataclass(frozen=True)
class TriageResult:
    """Outcome of triage: urgency level and the reasons, in Vietnamese, for counselors."""

    urgency: str = NONE
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def urgent(self) -> bool:
        """True when the message must open a case."""
        return self.urgency != NONE
