"""The re-escalation clock of an unclaimed case, computed exactly as the reminder loop computes it.

`Reconcilers.reescalate_due` re-announces a case `open` for `level = floor(waited / deadline)` deadlines
(at most `max_reescalations`); so re-escalation *k* is due at `created_at + k * deadline`. This module is the
one place that turns that rule into "how long has she waited, when is the next reminder, is it overdue",
for the queue page, the pinned Telegram summary and the roster (issue 14), from the settings. A case handed back
to the queue (`bot.cases.shifts.RETURNED`) starts its clock again at the hand-back, as the reminder loop does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from bot.cases.models import OPEN, Case, CaseEvent
from bot.cases.shifts import RETURNED
from bot.desk.settings import DeskSettings
from bot.timeutil import aware


@dataclass(frozen=True)
class Deadline:
    """Where an unclaimed case stands on the re-escalation clock at `now`."""

    waited: timedelta
    first_at: datetime           # the first deadline: past it the case is overdue
    next_at: datetime | None     # the next re-escalation; None once the last one is due
    level: int                   # re-escalations due so far (0 before the first deadline)
    overdue: bool                # the first deadline has passed without a claim


def deadline_of(settings: DeskSettings, urgency: str) -> timedelta:
    """The re-escalation period of an urgency (an unknown urgency gets the longest one)."""
    return settings.deadlines.get(urgency) or max(settings.deadlines.values())


def deadline_for(created_at: datetime, urgency: str, now: datetime, settings: DeskSettings) -> Deadline:
    """The re-escalation clock of a case created at `created_at` and still unclaimed at `now`."""
    created = aware(created_at)
    period = deadline_of(settings, urgency)
    waited = max(now - created, timedelta(0))
    level = min(int(waited / period), settings.max_reescalations)
    following = level + 1
    next_at = created + following * period if following <= settings.max_reescalations else None
    return Deadline(waited=waited, first_at=created + period, next_at=next_at, level=level, overdue=waited >= period)


def overdue_before(now: datetime, settings: DeskSettings) -> dict[str, datetime]:
    """Per urgency, the creation time at or before which an unclaimed case is overdue at `now`."""
    return {urgency: now - period for urgency, period in settings.deadlines.items()}


def overdue_fallback(now: datetime, settings: DeskSettings) -> datetime:
    """The cut-off for urgencies the settings do not name (the longest deadline, as `deadline_of`)."""
    return now - max(settings.deadlines.values())


def clock_start() -> Any:
    """SQL: where an unclaimed case's clock starts (its last hand-back to the queue, else its creation)."""
    handed_back = (select(func.max(CaseEvent.at)).where(CaseEvent.case_id == Case.id, CaseEvent.kind == RETURNED)
                   .scalar_subquery())
    return func.coalesce(handed_back, Case.created_at)


def overdue_clause(now: datetime, settings: DeskSettings) -> Any:
    """SQL: the case is unclaimed and past its first deadline at `now`."""
    cut = overdue_before(now, settings)
    start = clock_start()
    known = [and_(Case.urgency == urgency, start <= at) for urgency, at in cut.items()]
    other = and_(Case.urgency.not_in(list(cut)), start <= overdue_fallback(now, settings))
    return and_(Case.status == OPEN, or_(*known, other))


def waiting_and_overdue(s: Any, now: datetime, settings: DeskSettings) -> tuple[int, int]:
    """How many cases nobody has claimed, and how many of them are past their first deadline (indexed counts)."""
    waiting = s.execute(select(func.count()).where(Case.status == OPEN)).scalar() or 0
    overdue = s.execute(select(func.count()).where(overdue_clause(now, settings))).scalar() or 0
    return int(waiting), int(overdue)
