"""The review queue: messages the bot could not answer, masked, for staff to assign, turn into a topic or dismiss.

Function API for the CLI and the desk's staff page: `record_unanswered`, `list_pending`, `assign`,
`create_topic`, `dismiss`. Messages from any sender who has a case (an escalated conversation) are never kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, DateTime, Float, Integer, String, Text, delete, select
from sqlalchemy.engine import Engine

from bot.cases import Case, CaseStore, channel_of, utcnow
from bot.db import Base, session_factory
from bot.staff.checks import sounds_urgent
from bot.staff.masking import NAME_MASK, mask_personal
from bot.staff.store import load_content
from bot.staff.topics import LENIENT_NEW_TOPIC, SaveRefused, save_topic
from bot.text import is_meaningful, normalize
from bot.triage import assess

log = logging.getLogger(__name__)
_UTC = ZoneInfo("UTC")

PENDING, ASSIGNED, NEW_TOPIC, DISMISSED = "pending", "assigned", "new_topic", "dismissed"
REASON_LABELS = {"low_confidence": "độ tin cậy thấp", "out_of_scope": "ngoài phạm vi", "fallback": "không hiểu",
                 "unhelpful": "người dân báo chưa hữu ích"}
_PLACEHOLDERS = (NAME_MASK, "[số điện thoại]", "[email]")


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value


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
        return {"id": self.id, "created_at": _aware(self.created_at).isoformat(),
                "last_seen_at": _aware(self.last_seen_at).isoformat(), "channel": self.channel,
                "text": self.text, "count": self.count, "reason": self.reason,
                "reason_label": REASON_LABELS.get(self.reason, self.reason), "intent": self.intent,
                "confidence": self.confidence, "status": self.status, "topic": self.topic,
                "handled_by": self.handled_by,
                "handled_at": _aware(self.handled_at).isoformat() if self.handled_at else None}


class ReviewError(ValueError):
    """A staff action that cannot be done; the message is Vietnamese and safe to show."""


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
    if store.list_cases(sender_id=sender_id, limit=1):
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


def list_pending(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """Pending messages, identical ones grouped (count = times seen), most frequent then oldest first."""
    purge_escalated(engine)
    with session_factory(engine)() as s:
        items = list(s.execute(select(ReviewItem).where(ReviewItem.status == PENDING)
                               .order_by(ReviewItem.created_at, ReviewItem.id)).scalars())
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        group = groups.get(item.norm)
        if group is None:
            groups[item.norm] = item.to_dict()
            continue
        group["count"] += item.count
        group["last_seen_at"] = max(group["last_seen_at"], _aware(item.last_seen_at).isoformat())
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["created_at"], g["id"]))
    return ordered[:limit]


def get_item(engine: Engine, item_id: int) -> dict[str, Any] | None:
    """One item by id (any status)."""
    with session_factory(engine)() as s:
        item = s.get(ReviewItem, item_id)
        return item.to_dict() if item else None


@dataclass
class ReviewOutcome:
    """Result of a staff action: what was written and any warnings (Vietnamese)."""

    item: dict[str, Any]
    written: list[Path]
    warnings: list[str]


def _pending(engine: Engine, item_id: int) -> ReviewItem:
    purge_escalated(engine)
    with session_factory(engine)() as s:
        item = s.get(ReviewItem, item_id)
    if item is None:
        raise ReviewError(f"không có mục #{item_id} trong hàng đợi")
    if item.status != PENDING:
        raise ReviewError(f"mục #{item_id} đã được xử lý ({item.status})")
    return item


def _example(item: ReviewItem, text: str | None) -> str:
    example = " ".join((text if text is not None else item.text).split())
    if not example:
        raise ReviewError("câu hỏi mẫu đang trống")
    if any(p in example for p in _PLACEHOLDERS):
        raise ReviewError("câu vẫn còn phần bị che (như [tên], [số điện thoại]): hãy viết lại câu hỏi bằng --text")
    return mask_personal(example) if text is not None else example


def _finish(engine: Engine, item_id: int, status: str, actor: str, topic: str | None) -> dict[str, Any]:
    """Close the item and every pending item with the same (masked, normalised) text."""
    with session_factory(engine).begin() as s:
        item = s.get(ReviewItem, item_id)
        same = s.execute(select(ReviewItem).where(ReviewItem.norm == item.norm, ReviewItem.status == PENDING)).scalars()
        now = utcnow()
        for other in {item, *same}:
            other.status, other.topic, other.handled_by, other.handled_at = status, topic, actor, now
        s.flush()
        return item.to_dict()


def _save(content_dir: Path, nlu_dir: Path, name: str, values: dict[str, Any], today: date,
          lenient: frozenset[str]) -> tuple[list[Path], list[str]]:
    try:
        written, warnings = save_topic(content_dir, nlu_dir, name, values, today, lenient)
    except SaveRefused as exc:
        raise ReviewError(str(exc)) from exc
    return written, [p.message for p in warnings]


def assign(engine: Engine, item_id: int, topic: str, actor: str, content_dir: Path, nlu_dir: Path,
           today: date, text: str | None = None) -> ReviewOutcome:
    """Add the message (or the staff's rewording) as an example of an existing topic."""
    item = _pending(engine, item_id)
    current = load_content(content_dir)
    if topic not in current.topics:
        raise ReviewError(f"không có chủ đề “{topic}” (xem: python -m bot topic list)")
    example = _example(item, text)
    values = dict(current.topics[topic])
    values["examples"] = [*list(values.get("examples") or []), example]
    written, warnings = _save(content_dir, nlu_dir, topic, values, today, frozenset())
    if sounds_urgent(example):
        warnings.append("câu này nghe như một tin báo bạo lực; hệ thống an toàn vẫn sẽ chuyển nó cho tư vấn viên")
    return ReviewOutcome(_finish(engine, item_id, ASSIGNED, actor, topic), written, warnings)


def create_topic(engine: Engine, item_id: int, topic: str, title: str, answer: str, source: str, actor: str,
                 content_dir: Path, nlu_dir: Path, today: date, text: str | None = None) -> ReviewOutcome:
    """Start a new FAQ topic whose first example is this message."""
    item = _pending(engine, item_id)
    current = load_content(content_dir)
    if topic in current.topics:
        raise ReviewError(f"chủ đề “{topic}” đã có: dùng lệnh assign để thêm câu hỏi vào chủ đề này")
    example = _example(item, text)
    values = {"topic": topic, "title": title.strip(), "answer": answer.strip(), "source": source.strip(),
              "checked": today, "examples": [example]}
    written, warnings = _save(content_dir, nlu_dir, topic, values, today, LENIENT_NEW_TOPIC)
    return ReviewOutcome(_finish(engine, item_id, NEW_TOPIC, actor, topic), written, warnings)


def dismiss(engine: Engine, item_id: int, actor: str) -> dict[str, Any]:
    """Mark the message as not needing any content change."""
    _pending(engine, item_id)
    return _finish(engine, item_id, DISMISSED, actor, None)


def purge_handled(engine: Engine, older_than: timedelta = timedelta(days=90),
                  now: datetime | None = None) -> int:
    """Delete handled items older than the retention period; returns how many were deleted."""
    cutoff = (now or utcnow()) - older_than
    with session_factory(engine).begin() as s:
        return s.execute(delete(ReviewItem).where(ReviewItem.status != PENDING, ReviewItem.handled_at < cutoff)
                         .execution_options(synchronize_session=False)).rowcount or 0
