"""The case tables: one row per escalation, and its history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text, false, text
from sqlalchemy.orm import declared_attr

from bot.db.base import Base
from bot.timeutil import aware, utcnow

OPEN, CLAIMED, RESOLVED = "open", "claimed", "resolved"
STATUSES = (OPEN, CLAIMED, RESOLVED)
DANGER_NOW, NEEDS_SUPPORT = "danger_now", "needs_support"
URGENCIES = (DANGER_NOW, NEEDS_SUPPORT)
URGENCY_RANK = {NEEDS_SUPPORT: 1, DANGER_NOW: 2}


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
    # Opened during a flood of new cases (a needs-support case then waits behind danger-now ones).
    flood = Column(Boolean, nullable=False, default=False, server_default=false())
    # What became of the case (a code of bot.cases.outcomes.OUTCOMES), set when it is resolved.
    outcome = Column(String(40), nullable=True, index=True)
    outcome_note = Column(Text, nullable=True)
    # Set by the counselor's first assessment (bot.cases.assessment): higher is more urgent.
    priority = Column(Integer, nullable=False, default=0, server_default=text("0"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the case."""
        return {
            "id": self.id,
            "channel": self.channel,
            "sender_id": self.sender_id,
            "urgency": self.urgency,
            "status": self.status,
            "created_at": aware(self.created_at).isoformat(),
            "updated_at": aware(self.updated_at).isoformat(),
            "message": self.message,
            "reasons": [r for r in self.reasons.split("; ") if r],
            "province": self.province,
            "claimed_by": self.claimed_by,
            "claimed_at": aware(self.claimed_at).isoformat() if self.claimed_at else None,
            "resolved_at": aware(self.resolved_at).isoformat() if self.resolved_at else None,
            "flood": bool(self.flood),
            "outcome": self.outcome,
            "outcome_note": self.outcome_note,
            "priority": int(self.priority or 0),
        }


class _CaseRecord:
    """The columns every record about a case starts with: its id, the case it belongs to, and when."""

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    @declared_attr
    def case_id(cls) -> Column:
        """The case (a foreign key must be declared per table)."""
        return Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)


class CaseEvent(_CaseRecord, Base):
    """History of a case: created, message, notified, claimed, note, resolved…"""

    __tablename__ = "case_events"
    kind = Column(String(40), nullable=False)
    actor = Column(String(200), nullable=False, default="bot")
    detail = Column(Text, nullable=False, default="")
    # The channel's message id of a resident message that joined the case: the same message twice is one event.
    message_id = Column(String(200), nullable=True, index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the event."""
        return {"id": self.id, "case_id": self.case_id, "at": aware(self.at).isoformat(),
                "kind": self.kind, "actor": self.actor, "detail": self.detail}


class CaseAssessment(_CaseRecord, Base):
    """One first assessment of a case, filled by a counselor: the items she ticked and the priority they gave."""

    __tablename__ = "case_assessments"
    actor = Column(String(200), nullable=False)
    items = Column(Text, nullable=False, default="")  # item codes, "; "-separated
    priority = Column(Integer, nullable=False, default=0)
