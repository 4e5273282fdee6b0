"""Tables of the channels: the inbox (seen ids + durable queue); replies use the one outbox, Zalo tokens bot.sending."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Text

from bot.db.base import Base
from bot.timeutil import utcnow

PENDING, PROCESSING, DONE = "pending", "processing", "done"
UNFINISHED = (PENDING, PROCESSING)


class InboxMessage(Base):
    """One accepted platform event: its id (against redelivery) and, until processed, its content."""

    __tablename__ = "channel_inbox"
    id = Column(Integer, primary_key=True, autoincrement=True)  # arrival order
    key = Column(String(255), nullable=False, unique=True)     # "<channel>:<platform message id>"
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(200), nullable=False)             # "zalo:<id>", "messenger:<psid>", "telegram:<chat>"
    kind = Column(String(20), nullable=False)                   # text | attachment | welcome | unfollow
    text = Column(Text, nullable=True)                          # cleared once processed
    data = Column(Text, nullable=True)                          # JSON extras (attachment kind, callback id…)
    status = Column(String(16), nullable=False, default=PENDING)
    owner = Column(String(64), nullable=True)
    lease_until = Column(DateTime(timezone=True), nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    outcome = Column(String(32), nullable=True)
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    done_at = Column(DateTime(timezone=True), nullable=True)
    expires_at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_channel_inbox_sender_status", "sender_id", "status", "id"),
                      Index("ix_channel_inbox_status_lease", "status", "lease_until"),
                      Index("ix_channel_inbox_expires", "expires_at"))

