"""The review queue table and how the assistant records what it could not answer (masked).

Messages from any sender who has a case (an escalated conversation) are never kept. Staff work
the queue through `bot.staff.review` (CLI) and the desk's staff page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, String, Text, delete, select
from sqlalchemy.engine import Engine

from bot.cases.models import Case
from bot.cases.store import CaseStore
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.masking import NAME_MASK, mask_personal
from bot.senders import channel_of
from bot.text import is_meaningful, normalize
from bot.timeutil import aware, utcnow
from bot.triage import assess

PENDING, ASSIGNED, NEW_TOPIC, DISMISSED = "pending", "assigned", "new_topic", "dismissed"
REASON_LABELS = {"low_confidence": "độ tin cậy thấp", "out_of_scope": "ngoài phạm vi", "fallback": "không hiểu",
                 "unhelpful": "người dân báo chưa hữu ích", "not_on_file": "chưa có trong nội dung"}
PLACEHOLDERS = (NAME_MASK, "[số điện thoại]", "[email]")


class ReviewItem(Base):
    """One unanswered message (already masked), or several identical ones counted together."""

    __tablename__ = "review_items"
    id = Column(Integer, primary_key=True, autoincrement=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    last_seen_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    sender_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(32), nullable=False, default="rest")
    text = Column(Text, nullable=False)
    norm = Column(String(500), nullable=False, index=True)
    count = Column(Integer, nullable=False, default=1)
    reason = Column(String(32), nullable=False, default="fallback")
    intent = Column(String(100), nullable=True)
    confidence = Column(Float, nullable=True)
    status = Column(String(20), nullable=False, default=PENDING, index=True)
    topic = Column(String(100), nullable=True)
    handled_by = Column(String(200), nullable=True)
    handled_at = Column(DateTime(timezone=True), nullable=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for staff (the sender id is never included)."""
        return {"id": self.id, "created_at": aware(self.created_at).isoformat(),
                "last_seen_at": aware(self.last_seen_at).isoformat(), "channel": self.channel,
                "text": self.text, "count": self.count, "reason": self.reason,
                "reason_label": REASON_LABELS.get(self.reason, self.reason), "intent": self.intent,
                "confidence": self.confidence, "status": self.status, "topic": self.topic,
                "handled_by": self.handled_by,
                "handled_at": aware(self.handled_at).isoformat() if self.handled_at else None}


def reason_for(intent: str | None) -> str:
    """The queue reason for the intent that led to the fallback."""
    if intent == "nlu_fallback":
        return "low_confidence"
    if intent == "out_of_scope":
        return "out_of_scope"
    return "fallback"


def record_unanswered(store: CaseStore | None, sender_id: str, text: str, intent: str | None = None,
                      confidence: float | None = None, reason: str | None = None) -> int | None:
    """Keep an unanswered message for review; returns the item id, or None when it must not be kept."""
    if store is None or not is_meaningful(text or ""):
        return None
    if assess(text).urgent:
        return None
    if store.has_case(sender_id):
        return None
    masked = mask_personal(text)
    norm = normalize(masked)[:500]
    now = utcnow()
    with session_factory(store.engine).begin() as s:
        same = s.execute(select(ReviewItem).where(ReviewItem.norm == norm, ReviewItem.sender_id == sender_id,
                                                  ReviewItem.status == PENDING)
                         .order_by(ReviewItem.id).limit(1)).scalar_one_or_none()
        if same is not None:
            same.count += 1
            same.last_seen_at = now
            return same.id
        item = ReviewItem(created_at=now, last_seen_at=now, sender_id=sender_id, channel=channel_of(sender_id),
                          text=masked, norm=norm, reason=reason or reason_for(intent), intent=intent,
                          confidence=confidence, status=PENDING)
        s.add(item)
        s.flush()
        return item.id


def record_from_message(store: CaseStore | None, sender_id: str, message: dict[str, Any]) -> int | None:
    """Keep the latest message of a conversation (Rasa's `latest_message`) that ended in a fallback."""
    intent = message.get("intent") or {}
    return record_unanswered(store, sender_id, message.get("text") or "", intent.get("name"),
                             float(intent.get("confidence") or 0.0))


def purge_escalated(engine: Engine) -> int:
    """Delete pending items of senders who now have a case; returns how many were deleted."""
    with session_factory(engine).begin() as s:
        senders = select(Case.sender_id)
        return s.execute(delete(ReviewItem).where(ReviewItem.sender_id.in_(senders))
                         .execution_options(synchronize_session=False)).rowcount or 0


def purge_older_than(engine: Engine, cutoff: datetime) -> int:
    """Delete items last seen before `cutoff`, whatever their status (the retention period)."""
    with session_factory(engine).begin() as s:
        return s.execute(delete(ReviewItem).where(ReviewItem.last_seen_at < cutoff)
                         .execution_options(synchronize_session=False)).rowcount or 0
