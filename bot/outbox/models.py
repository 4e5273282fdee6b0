"""The outbox table: one row per thing to deliver, unique by the change that produced it.

`priority` orders due work across lanes (never within one): danger-now cards first, then messages to
residents, then the rest. A new column, so it has a server default for databases made before it.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Text

from bot.db.base import Base
from bot.timeutil import utcnow

PENDING, SENT, SKIPPED, DEAD = "pending", "sent", "skipped", "dead"
# Higher goes first: a danger-now case's Telegram rows, then what reaches a resident, then everything else.
PRIORITY_DANGER, PRIORITY_RESIDENT, PRIORITY_NORMAL = 2, 1, 0
PRIORITY_FLOOD = -1  # the Telegram rows of a case opened during a flood of new cases: after everything else


class OutboxItem(Base):
    """One thing to deliver (Telegram message, Rasa event, resident message), written with the change."""

    __tablename__ = "outbox"
    id = Column(Integer, primary_key=True, autoincrement=True)
    dedup_key = Column(String(200), nullable=False, unique=True)
    kind = Column(String(40), nullable=False)
    lane = Column(String(240), nullable=False)
    case_id = Column(Integer, nullable=True)
    payload = Column(Text, nullable=False, default="{}")
    status = Column(String(12), nullable=False, default=PENDING)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    lease_until = Column(DateTime(timezone=True), nullable=True)
    lease_owner = Column(String(64), nullable=True)
    last_error = Column(String(300), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    sent_at = Column(DateTime(timezone=True), nullable=True)
    priority = Column(Integer, nullable=False, default=PRIORITY_NORMAL, server_default="0")

    # ix_outbox_lane_heads covers the dispatcher's "head of every pending lane" query.
    __table_args__ = (Index("ix_outbox_status_id", "status", "id"),
                      Index("ix_outbox_case_kind", "case_id", "kind"),
                      Index("ix_outbox_lane_heads", "status", "lane", "kind", "priority", "id"))


class DeliveryFailure(Base):
    """A reply that could not be delivered after retries (no message text is kept)."""

    __tablename__ = "delivery_failures"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(200), nullable=False)
    urgent = Column(Boolean, nullable=False, default=False, index=True)
    by_human = Column(Boolean, nullable=False, default=False)
    error = Column(String(64), nullable=False)
