"""Staff work on the review queue: list, assign to a topic, turn into a new topic, dismiss.

Function API for the CLI and the desk's staff page. The queue itself (table, recording) is
`bot.review_queue`, which the action server uses without loading the staff toolchain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from bot.db.engine import session_factory
from bot.masking import mask_personal
from bot.review_queue import (
    ASSIGNED,
    DISMISSED,
    NEW_TOPIC,
    PENDING,
    PLACEHOLDERS,
    ReviewItem,
    purge_escalated,
)
from bot.staff.checks import sounds_urgent
from bot.staff.store import load_content
from bot.staff.topics import LENIENT_NEW_TOPIC, SaveRefused, save_topic
from bot.timeutil import aware, utcnow

log = logging.getLogger(__name__)


class ReviewError(ValueError):
    """A staff action that cannot be done; the message is Vietnamese and safe to show."""


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
        group["last_seen_at"] = max(group["last_seen_at"], aware(item.last_seen_at).isoformat())
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["created_at"], g["id"]))
    return ordered[:limit]


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
    if any(p in example for p in PLACEHOLDERS):
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
