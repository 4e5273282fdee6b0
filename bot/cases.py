"""Escalation cases: the durable record that reaches the counselors."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.db import Base, session_factory

log = logging.getLogger(__name__)

OPEN, CLAIMED, RESOLVED = "open", "claimed", "resolved"
STATUSES = (OPEN, CLAIMED, RESOLVED)
URGENCIES = ("danger_now", "needs_support")
_RANK = {"needs_support": 1, "danger_now": 2}


def utcnow() -> datetime:
    """Timezone-aware current UTC time."""
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; every stored time is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class Case(Base):
    """One escalation: a resident who needs a person."""

    __tablename__ = "cases"
    id = Column(Integer, primary_key=True, autoincrement=True)
    channel = Column(String(32), nullable=False, index=True)
    sender_id = Column(String(200), nullable=False, index=True)
    urgency = Column(String(20), nullable=False, index=True)
    status = Column(String(20), nullable=False, default=OPEN, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    message = Column(Text, nullable=False, default="")
    reasons = Column(Text, nullable=False, default="")
    province = Column(String(100), nullable=True)
    message_id = Column(String(200), nullable=True, unique=True)
    claimed_by = Column(String(200), nullable=True)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    resolved_at = Column(DateTime(timezone=True), nullable=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the case."""
        return {
            "id": self.id,
            "channel": self.channel,
            "sender_id": self.sender_id,
            "urgency": self.urgency,
            "status": self.status,
            "created_at": _aware(self.created_at).isoformat(),
            "updated_at": _aware(self.updated_at).isoformat(),
            "message": self.message,
            "reasons": [r for r in self.reasons.split("; ") if r],
            "province": self.province,
            "claimed_by": self.claimed_by,
            "claimed_at": _aware(self.claimed_at).isoformat() if self.claimed_at else None,
            "resolved_at": _aware(self.resolved_at).isoformat() if self.resolved_at else None,
        }


class CaseEvent(Base):
    """History of a case: created, message, notified, claimed, note, resolved…"""

    __tablename__ = "case_events"
    id = Column(Integer, primary_key=True, autoincrement=True)
    case_id = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    kind = Column(String(40), nullable=False)
    actor = Column(String(200), nullable=False, default="bot")
    detail = Column(Text, nullable=False, default="")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the event."""
        return {"id": self.id, "case_id": self.case_id, "at": _aware(self.at).isoformat(),
                "kind": self.kind, "actor": self.actor, "detail": self.detail}


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


def channel_of(sender_id: str, default: str = "rest") -> str:
    """The channel prefix of a sender id such as `zalo:123` (else the default)."""
    prefix, sep, _ = sender_id.partition(":")
    return prefix if sep and prefix in {"zalo", "messenger", "telegram", "rest"} else default


class CaseStore:
    """Reads and writes cases; the engine is passed in so tests can use SQLite."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.Session = session_factory(engine)

    def open_case(self, req: CaseRequest) -> tuple[Case, bool]:
        """Open a case, or add the message to the sender's active case. Returns (case, created)."""
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
                if _RANK.get(req.urgency, 0) > _RANK.get(active.urgency, 0):
                    active.urgency = req.urgency
                    s.add(CaseEvent(case_id=active.id, kind="urgency_raised", detail=req.urgency, at=now))
                active.updated_at = now
                s.add(CaseEvent(case_id=active.id, kind="resident_message", actor=req.sender_id,
                                detail=req.message, at=now))
                return active, False
            case = Case(channel=req.channel, sender_id=req.sender_id, urgency=req.urgency, status=OPEN,
                        created_at=now, updated_at=now, message=req.message,
                        reasons="; ".join(req.reasons), province=req.province, message_id=req.message_id)
            s.add(case)
            s.flush()
            s.add(CaseEvent(case_id=case.id, kind="created", detail="; ".join(req.reasons), at=now))
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

    def add_event(self, case_id: int, kind: str, actor: str = "bot", detail: str = "") -> None:
        """Append an entry to a case's history."""
        with self.Session.begin() as s:
            s.add(CaseEvent(case_id=case_id, kind=kind, actor=actor, detail=detail))

    def events(self, case_id: int) -> list[CaseEvent]:
        """A case's history, oldest first."""
        with self.Session() as s:
            return list(s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.at, CaseEvent.id)).scalars())


def spool_path() -> Path:
    """Where cases wait when the database cannot be reached."""
    from bot.config import VAR_DIR

    return VAR_DIR / "spool" / "cases.jsonl"


def spool_case(req: CaseRequest, path: Path | None = None) -> None:
    """Append a case request to the local spool file, fsynced, for later import."""
    path = path or spool_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**req.__dict__, "reasons": list(req.reasons), "at": utcnow().isoformat()},
                      ensure_ascii=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def record_case(store: CaseStore | None, req: CaseRequest, spool: Path | None = None) -> Case | None:
    """Write a case to the database; if that fails, spool it so nothing is lost."""
    if store is not None:
        try:
            case, _ = store.open_case(req)
            return case
        except SQLAlchemyError:
            log.exception("case database unavailable; spooling case for sender channel=%s", req.channel)
    spool_case(req, spool)
    return None


def escalate_case(store: CaseStore | None, req: CaseRequest) -> tuple[int | None, bool]:
    """Record a case (database, else spool). Returns (case id if in the database, recorded at all)."""
    try:
        case = record_case(store, req)
    except OSError:
        log.critical("CASE LOST: neither the database nor the spool accepted an urgent case (channel=%s)",
                     req.channel)
        return None, False
    return (case.id if case else None), True


def drain_spool(store: CaseStore, path: Path | None = None) -> int:
    """Import spooled cases into the database; returns how many were imported."""
    path = path or spool_path()
    if not path.exists():
        return 0
    work = path.with_suffix(".draining")
    if not work.exists():
        path.rename(work)
    count = 0
    for line in work.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        data.pop("at", None)
        data["reasons"] = tuple(data.get("reasons") or ()) + ("ghi tạm khi CSDL gián đoạn",)
        store.open_case(CaseRequest(**data))
        count += 1
    work.unlink()
    return count
