"""Reading and writing cases; opening a case queues its counselor card in the same transaction.

What `open_case` guarantees: the same message id never gives a second case or a second event; a sender with
an unresolved case gets the message added to it; past `CaseLimits.per_sender` new cases in the window, the
message joins (and reopens) the sender's latest case; during a flood (`CaseLimits.flood_threshold` new cases
of one channel in the window) a needs-support case of that channel is still recorded and carded but marked
`flood`, and its Telegram rows go after every other case's (`bot.outbox.enqueue.case_priority`). Nothing here decides the hotline
reply: the caller sends it whatever happens to the case.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.cases.models import NEEDS_SUPPORT, OPEN, RESOLVED, URGENCY_RANK, Case, CaseEvent
from bot.config import env_number
from bot.db.engine import session_factory
from bot.outbox.enqueue import enqueue, queue_card, queue_forward
from bot.text import MAX_MESSAGE_CHARS
from bot.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseRequest:
    """What the assistant knows when it escalates (the message is cut to MAX_MESSAGE_CHARS)."""

    channel: str
    sender_id: str
    urgency: str
    message: str
    reasons: tuple[str, ...]
    province: str | None = None
    message_id: str | None = None

    def __post_init__(self) -> None:
        """Bound the resident text a case keeps."""
        if len(self.message) > MAX_MESSAGE_CHARS:
            object.__setattr__(self, "message", self.message[:MAX_MESSAGE_CHARS])


def _positive(name: str, default: int) -> int:
    """A positive whole number from the environment; unset, not a number or not positive gives the default."""
    value = env_number(os.environ, name, default)
    if value <= 0 or value != int(value):
        log.warning("%s is not a positive whole number; using %d", name, default)
        return default
    return int(value)


@dataclass(frozen=True)
class CaseLimits:
    """How many new cases a sender, and everyone together, may open before messages join or are marked."""

    per_sender: int = 3
    per_sender_window: timedelta = timedelta(hours=24)
    flood_threshold: int = 30
    flood_window: timedelta = timedelta(minutes=10)

    @classmethod
    def from_env(cls) -> CaseLimits:
        """CASE_LIMIT_PER_SENDER, CASE_LIMIT_WINDOW_HOURS, CASE_FLOOD_THRESHOLD, CASE_FLOOD_WINDOW_MINUTES."""
        hours, minutes = cls.per_sender_window // timedelta(hours=1), cls.flood_window // timedelta(minutes=1)
        return cls(per_sender=_positive("CASE_LIMIT_PER_SENDER", cls.per_sender),
                   per_sender_window=timedelta(hours=_positive("CASE_LIMIT_WINDOW_HOURS", hours)),
                   flood_threshold=_positive("CASE_FLOOD_THRESHOLD", cls.flood_threshold),
                   flood_window=timedelta(minutes=_positive("CASE_FLOOD_WINDOW_MINUTES", minutes)))


class CaseStore:
    """Reads and writes cases; the engine is passed in so tests can use SQLite."""

    def __init__(self, engine: Engine, limits: CaseLimits | None = None) -> None:
        """Bind to the project database; limits default to the environment's."""
        self.engine = engine
        self.Session = session_factory(engine)
        self.limits = limits or CaseLimits.from_env()

    def open_case(self, req: CaseRequest) -> tuple[Case, bool]:
        """Open a case with its card row, or add the message to the sender's case. Returns (case, created)."""
        now = utcnow()
        with self.Session.begin() as s:
            if req.message_id:
                dup = s.execute(select(Case).where(Case.message_id == req.message_id)).scalar_one_or_none()
                if dup is not None:
                    return dup, False
                joined = s.execute(select(CaseEvent.case_id).where(CaseEvent.message_id == req.message_id)
                                   .limit(1)).scalar_one_or_none()
                if joined is not None:
                    return s.get(Case, joined), False
            active = s.execute(
                select(Case).where(Case.sender_id == req.sender_id, Case.status != RESOLVED)
                .order_by(Case.id.desc()).limit(1)
            ).scalar_one_or_none()
            if active is None and self._sender_over_limit(s, req.sender_id, now):
                active = s.execute(select(Case).where(Case.sender_id == req.sender_id)
                                   .order_by(Case.id.desc()).limit(1)).scalar_one()
                self._reopen(s, active, now)
            if active is not None:
                self._join(s, active, req, now)
                return active, False
            flood = req.urgency == NEEDS_SUPPORT and self._flooding(s, req.channel, now)
            if flood:
                log.warning("case flood: a needs-support case is marked flood (channel=%s)", req.channel)
            case = Case(channel=req.channel, sender_id=req.sender_id, urgency=req.urgency, status=OPEN,
                        created_at=now, updated_at=now, message=req.message, reasons="; ".join(req.reasons),
                        province=req.province, message_id=req.message_id, flood=flood)
            s.add(case)
            s.flush()
            s.add(CaseEvent(case_id=case.id, kind="created", detail="; ".join(req.reasons), at=now))
            queue_card(s, case.id, now)
            return case, True

    def _sender_over_limit(self, s: Session, sender_id: str, now: datetime) -> bool:
        recent = s.execute(select(func.count()).select_from(Case).where(
            Case.sender_id == sender_id, Case.created_at >= now - self.limits.per_sender_window)).scalar_one()
        return recent >= self.limits.per_sender

    def _flooding(self, s: Session, channel: str, now: datetime) -> bool:
        # Per channel: a burst through one entry point (say a scripted REST client) leaves the other
        # channels' residents unmarked, so their cards keep their place ahead of the burst's.
        recent = s.execute(select(func.count()).select_from(Case).where(
            Case.channel == channel, Case.created_at >= now - self.limits.flood_window)).scalar_one()
        return recent >= self.limits.flood_threshold

    def _reopen(self, s: Session, case: Case, now: datetime) -> None:
        """A sender past the per-sender limit writes again: her latest case is open again, its card refreshed."""
        if case.status != RESOLVED:
            return
        case.status, case.resolved_at, case.claimed_by, case.claimed_at = OPEN, None, None, None
        hours = int(self.limits.per_sender_window.total_seconds() // 3600)
        ev = CaseEvent(case_id=case.id, kind="reopened", at=now,
                       detail=f"Người này viết lại khi đã có {self.limits.per_sender} ca trong {hours} giờ: "
                              "ca gần nhất được mở lại")
        s.add(ev)
        s.flush()
        enqueue(s, key=f"refresh:{case.id}:{ev.id}", kind="tg_refresh", lane=f"tg:{case.id}",
                case_id=case.id, payload={}, now=now)

    @staticmethod
    def _join(s: Session, active: Case, req: CaseRequest, now: datetime) -> None:
        """Add the message to the sender's case (raising its urgency if needed) and queue its forward."""
        if URGENCY_RANK.get(req.urgency, 0) > URGENCY_RANK.get(active.urgency, 0):
            active.urgency = req.urgency
            raised = CaseEvent(case_id=active.id, kind="urgency_raised", detail=req.urgency, at=now)
            s.add(raised)
            s.flush()
            queue_forward(s, raised, now)
        active.updated_at = now
        ev = CaseEvent(case_id=active.id, kind="resident_message", actor=req.sender_id, detail=req.message,
                       at=now, message_id=req.message_id)
        s.add(ev)
        s.flush()
        queue_forward(s, ev, now)

    def get(self, case_id: int) -> Case | None:
        """One case by id."""
        with self.Session() as s:
            return s.get(Case, case_id)

    def list_cases(self, sender_id: str | None = None, status: str | None = None,
                   urgency: str | None = None, channel: str | None = None, limit: int = 500) -> list[Case]:
        """Cases, newest first, optionally filtered."""
        q = select(Case)
        if sender_id:
            q = q.where(Case.sender_id == sender_id)
        if status:
            q = q.where(Case.status == status)
        if urgency:
            q = q.where(Case.urgency == urgency)
        if channel:
            q = q.where(Case.channel == channel)
        q = q.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)
        with self.Session() as s:
            return list(s.execute(q).scalars())

    def active_case_for(self, sender_id: str) -> Case | None:
        """The sender's newest case that is not resolved."""
        with self.Session() as s:
            return s.execute(
                select(Case).where(Case.sender_id == sender_id, Case.status != RESOLVED)
                .order_by(Case.id.desc()).limit(1)
            ).scalar_one_or_none()

    def has_case(self, sender_id: str) -> bool:
        """Whether the sender has ever had a case."""
        with self.Session() as s:
            return s.execute(select(Case.id).where(Case.sender_id == sender_id).limit(1)).first() is not None

    def add_event(self, case_id: int, kind: str, actor: str = "bot", detail: str = "") -> None:
        """Append an entry to a case's history."""
        with self.Session.begin() as s:
            s.add(CaseEvent(case_id=case_id, kind=kind, actor=actor, detail=detail))

    def events(self, case_id: int) -> list[CaseEvent]:
        """A case's history, oldest first."""
        with self.Session() as s:
            return list(s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.at, CaseEvent.id)).scalars())
