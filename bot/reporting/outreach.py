"""Outreach figures of the period: broadcasts and what became of each recipient, subscriptions, poll results.

A broadcast belongs to the period when it started sending in it (or, not started, was due in it) and is not a
draft. Its counts come from `outreach_recipients` in one grouped query (with a province, only that province's
recipients: a national broadcast counts in a province's report for the residents of that province). Poll results
come from bot.outreach.polls.poll_results (whole poll, nothing shown under 10 answers). Subscription counts: new
(agreed in the period), stopped in the period, and still active at its end. Erased residents' subscriptions are
deleted, so they are in none of these counts; their recipient rows survive anonymised and still count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine

from bot.db.engine import session_factory
from bot.outreach.models import DRAFT, R_FAILED, R_PENDING, R_SENT, R_SKIPPED, Broadcast, BroadcastRecipient
from bot.outreach.models import Subscription as Sub
from bot.outreach.polls import PollResult, poll_results
from bot.reporting.tables import Period
from bot.timeutil import VN_TZ, aware

EXCERPT = 60  # characters of a broadcast's text shown to name it (staff's own words, never a resident's)


@dataclass
class BroadcastLine:
    """One broadcast of the period with its recipients' outcomes (raw counts)."""

    id: int
    day: str
    excerpt: str
    channel: str | None
    province: str | None
    state: str
    status: Counter[str] = field(default_factory=Counter)   # sent / skipped / failed / pending → recipients
    skipped: Counter[str] = field(default_factory=Counter)  # reason → recipients

    @property
    def recipients(self) -> int:
        """Everyone in the audience snapshot (of the province, with a province)."""
        return sum(self.status.values())


@dataclass
class OutreachFigures:
    """Broadcasts, subscriptions by channel, polls."""

    broadcasts: list[BroadcastLine] = field(default_factory=list)
    new_subscriptions: Counter[str] = field(default_factory=Counter)     # channel → residents
    unsubscribed: Counter[str] = field(default_factory=Counter)
    active_at_end: Counter[str] = field(default_factory=Counter)
    polls: list[PollResult] = field(default_factory=list)

    def total(self, status: str) -> int:
        """Recipients of every broadcast with this outcome."""
        return sum(b.status[status] for b in self.broadcasts)

    def skip_reasons(self) -> Counter[str]:
        """Skipped recipients by reason, over every broadcast."""
        total: Counter[str] = Counter()
        for line in self.broadcasts:
            total.update(line.skipped)
        return total


def excerpt(text: str) -> str:
    """The start of a broadcast's text, on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT - 1].rstrip() + "…"


def _broadcasts(engine: Engine, period: Period) -> list[BroadcastLine]:
    when = func.coalesce(Broadcast.started_at, Broadcast.start_at)
    q = select(Broadcast).where(Broadcast.state != DRAFT, when >= period.lo, when < period.hi)
    if period.province:
        reached = select(BroadcastRecipient.broadcast_id).where(BroadcastRecipient.province == period.province)
        q = q.where(or_(Broadcast.province == period.province, Broadcast.id.in_(reached)))
    with session_factory(engine)() as s:
        rows = list(s.execute(q.order_by(Broadcast.id)).scalars())
        lines = {b.id: BroadcastLine(b.id, f"{aware(b.started_at or b.start_at).astimezone(VN_TZ):%d/%m/%Y}",
                                     excerpt(b.text), b.channel, b.province, b.state) for b in rows}
        if not lines:
            return []
        counts = select(BroadcastRecipient.broadcast_id, BroadcastRecipient.status, BroadcastRecipient.reason,
                        func.count()).where(BroadcastRecipient.broadcast_id.in_(list(lines)))
        if period.province:
            counts = counts.where(BroadcastRecipient.province == period.province)
        grouped = s.execute(counts.group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.status,
                                            BroadcastRecipient.reason)).all()
    for broadcast_id, status, reason, n in grouped:
        line = lines[broadcast_id]
        line.status[status if status in (R_SENT, R_SKIPPED, R_FAILED) else R_PENDING] += n
        if status == R_SKIPPED:
            line.skipped[reason or "other"] += n
    return list(lines.values())


def _subscriptions(engine: Engine, period: Period, figures: OutreachFigures) -> None:
    def by_channel(*where: object) -> Counter[str]:
        q = select(Sub.channel, func.count()).where(*where)
        if period.province:
            q = q.where(Sub.province == period.province)
        with session_factory(engine)() as s:
            return Counter(dict(s.execute(q.group_by(Sub.channel)).all()))
    figures.new_subscriptions = by_channel(Sub.consented_at >= period.lo, Sub.consented_at < period.hi)
    figures.unsubscribed = by_channel(Sub.active.is_(False), Sub.unsubscribed_at >= period.lo,
                                      Sub.unsubscribed_at < period.hi)
    figures.active_at_end = by_channel(Sub.consented_at < period.hi,
                                       or_(Sub.active.is_(True), Sub.unsubscribed_at >= period.hi))


def outreach_figures(engine: Engine, period: Period) -> OutreachFigures:
    """Every outreach figure of the period."""
    figures = OutreachFigures(broadcasts=_broadcasts(engine, period))
    _subscriptions(engine, period, figures)
    with session_factory(engine)() as s:
        with_poll = set(s.execute(select(Broadcast.id).where(
            Broadcast.id.in_([b.id for b in figures.broadcasts]), Broadcast.poll_question.is_not(None),
            Broadcast.poll_question != "")).scalars())
    figures.polls = [poll_results(engine, b.id) for b in figures.broadcasts if b.id in with_poll]
    return figures
