"""Reading and writing cases; opening a case queues its counselor card in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cases.models import RESOLVED, URGENCY_RANK, Case, CaseEvent
from bot.db.engine import session_factory
from bot.outbox.enqueue import queue_card, queue_forward
from bot.timeutil import utcnow


@dataclass(frozen=True)
class CaseRequest:
    """What the assistant knows when it escalates."""

    channel: str
    sender_id: str
    urgency: str
    message: str
    reasons: tuple[str, ...]
    province: str | None = None
    message_id: str | None = None


class CaseStore:
    """Reads and writes cases; the engine is passed in so tests can use SQLite."""

    def __init__(self, engine: Engine) -> None:
        """Bind to the project database."""
        self.engine = engine
        self.Session = session_factory(engine)

    def open_case(self, req: CaseRequest) -> tuple[Case, bool]:
        """Open a case with its card row, or add the message to the sender's active case. Returns (case, created)."""
        now = utcnow()
        with self.Session.begin() as s:
            if req.message_id:
                dup = s.execute(select(Case).where(Case.message_id == req.message_id)).scalar_one_or_none()
                if dup is not None:
                    return dup, False
            active = s.execute(
                select(Case).where(Case.sender_id == req.sender_id, Case.status != RESOLVED)
                .order_by(Case.id.desc()).limit(1)
            ).scalar_one_or_none()
            if active is not None:
                if URGENCY_RANK.get(req.urgency, 0) > URGENCY_RANK.get(active.urgency, 0):
                    active.urgency = req.urgency
                    raised = CaseEvent(case_id=active.id, kind="urgency_raised", detail=req.urgency, at=now)
                    s.add(raised)
                    s.flush()
                    queue_forward(s, raised, now)
                active.updated_at = now
                ev = CaseEvent(case_id=active.id, kind="resident_message", actor=req.sender_id,
                               detail=req.message, at=now)
                s.add(ev)
                s.flush()
                queue_forward(s, ev, now)
                return active, False
            case = Case(channel=req.channel, sender_id=req.sender_id, urgency=req.urgency, status="open",
                        created_at=now, updated_at=now, message=req.message,
                        reasons="; ".join(req.reasons), province=req.province, message_id=req.message_id)
            s.add(case)
            s.flush()
            s.add(CaseEvent(case_id=case.id, kind="created", detail="; ".join(req.reasons), at=now))
            queue_card(s, case.id, now)
            return case, True

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
