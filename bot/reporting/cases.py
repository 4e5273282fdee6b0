"""Case figures of the period: by urgency, channel and province; time to claim; re-escalations; resolved share.

A case belongs to the period when it was opened in it (and, with a province, when it names that province). Time
to claim is from the case's opening to its first `claimed` event (so a case handed back and claimed again keeps
its first wait). Times and shares are left out when fewer than 5 cases stand behind them: a median of two cases
is two residents' stories. Outcomes (resolved in the period) are counted by bot.cases.outcomes.count_outcomes.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.cases.models import RESOLVED, URGENCIES, Case, CaseEvent
from bot.cases.outcomes import SMALL, OutcomeCount, count_outcomes
from bot.db.engine import session_factory
from bot.reporting.tables import Period
from bot.timeutil import aware

NO_PROVINCE = "Chưa rõ tỉnh"


@dataclass
class CaseFigures:
    """Raw counts (suppressed later, by `cell`) and claim waits in minutes, per urgency."""

    by_urgency: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    by_province: Counter[str] = field(default_factory=Counter)
    waits: dict[str, list[float]] = field(default_factory=dict)   # urgency → minutes to the first claim
    reescalated_cases: int = 0
    reescalations: int = 0
    resolved: int = 0
    outcomes: list[OutcomeCount] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Cases opened in the period."""
        return sum(self.by_urgency.values())

    def all_waits(self) -> list[float]:
        """Every claim wait, all urgencies together."""
        return [w for waits in self.waits.values() for w in waits]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def minutes_text(minutes: float) -> str:
    """A wait as staff read it: "45 giây", "12 phút", "2 giờ 5 phút"."""
    seconds = round(minutes * 60)
    if seconds < 60:
        return f"{seconds} giây"
    whole = round(minutes)
    hours, rest = divmod(whole, 60)
    return f"{hours} giờ {rest} phút" if hours else f"{whole} phút"


def wait_summary(waits: list[float]) -> tuple[str, str]:
    """(median, 90th percentile) as text, or dashes when fewer than 5 cases were claimed."""
    if len(waits) < SMALL:
        return "—", "—"
    return minutes_text(statistics.median(waits)), minutes_text(percentile(waits, 0.9))


def resolved_share(figures: CaseFigures) -> str:
    """The share of the period's cases already resolved, as "83%".

    A dash when it would give away a small count: under 5 cases, or 1 to 4 resolved or still open.
    """
    rest = figures.total - figures.resolved
    if figures.total < SMALL or 0 < figures.resolved < SMALL or 0 < rest < SMALL:
        return "—"
    return f"{round(100 * figures.resolved / figures.total)}%"


def case_figures(engine: Engine, period: Period) -> CaseFigures:
    """Count the period's cases and read their claim times and re-escalations."""
    figures = CaseFigures(waits={u: [] for u in URGENCIES})
    q = select(Case.id, Case.urgency, Case.channel, Case.province, Case.status, Case.created_at, Case.claimed_at
               ).where(Case.created_at >= period.lo, Case.created_at < period.hi)
    if period.province:
        q = q.where(Case.province == period.province)
    with session_factory(engine)() as s:
        cases = s.execute(q).all()
        ids = [c.id for c in cases]
        first_claim: dict[int, object] = {}
        reesc: Counter[int] = Counter()
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            first_claim.update(s.execute(select(CaseEvent.case_id, func.min(CaseEvent.at)).where(
                CaseEvent.case_id.in_(part), CaseEvent.kind == "claimed").group_by(CaseEvent.case_id)).all())
            reesc.update(dict(s.execute(select(CaseEvent.case_id, func.count()).where(
                CaseEvent.case_id.in_(part), CaseEvent.kind == "reescalated").group_by(CaseEvent.case_id)).all()))
    for case in cases:
        figures.by_urgency[case.urgency] += 1
        figures.by_channel[case.channel] += 1
        figures.by_province[case.province or NO_PROVINCE] += 1
        figures.resolved += case.status == RESOLVED
        claimed = aware(first_claim.get(case.id) or case.claimed_at)  # type: ignore[arg-type]
        if claimed is not None:
            wait = max(claimed - aware(case.created_at), timedelta(0))
            figures.waits.setdefault(case.urgency, []).append(wait.total_seconds() / 60)
    figures.reescalated_cases = sum(1 for n in reesc.values() if n)
    figures.reescalations = sum(reesc.values())
    figures.outcomes = count_outcomes(engine, period.lo, period.hi, period.province)
    return figures
