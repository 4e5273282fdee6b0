"""Event reminders: the day before an event of a province, its subscribers (topic events) get one broadcast.

What it guarantees:
- one reminder per event at most (`event_key` is unique), created by the account `he-thong` as a draft that a
  staff account approves, or approved by `he-thong` itself when BROADCAST_REMINDERS_AUTO=1 (the setting is the
  staff's decision: it is the one approval that does not come from a second person);
- its text is made of the event's own fields (title, date, time, place), nothing invented; the title, which may
  name violence, comes last, out of the locked-screen preview;
- it goes out on the day before the event (Vietnam date) from 08:00, or at once when created later that day,
  and ends at midnight before the event: quiet hours that last until then skip it rather than send it late.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from bot.content.events import Event
from bot.content.library import Library
from bot.outreach.broadcasts import SYSTEM_ACCOUNT, BroadcastError, Draft, approve, create
from bot.outreach.models import TOPIC_EVENTS
from bot.timeutil import UTC, VN_TZ, aware

log = logging.getLogger(__name__)
SEND_FROM = time(8, 0)  # Vietnam time, the day before the event


def event_key(event: Event, province: str) -> str:
    """A stable key for one event (unique among broadcasts)."""
    digest = hashlib.sha256(f"{province}|{event.day.isoformat()}|{event.title}".encode()).hexdigest()[:24]
    return f"event:{event.day.isoformat()}:{digest}"


def reminder_text(event: Event, province: str) -> str:
    """The reminder's body, from the event's fields only."""
    when = f"{event.time}, ngày {event.day:%d/%m/%Y}" if event.time else f"ngày {event.day:%d/%m/%Y}"
    where = event.place or event.district or province
    return "\n".join([f"Nhắc lịch sự kiện của Tháng hành động tại {province}.", f"Thời gian: {when}",
                      f"Địa điểm: {where}", f"Sự kiện: {event.title}"])


def reminder_window(day: date, now: datetime) -> tuple[datetime, datetime]:
    """When a reminder for an event on `day` may go: the day before from 08:00 (or now), until midnight."""
    start = datetime.combine(day - timedelta(days=1), SEND_FROM, VN_TZ).astimezone(UTC)
    end = datetime.combine(day, time(0, 0), VN_TZ).astimezone(UTC)
    return max(start, aware(now)), end


def ensure_reminders(engine: Engine, library: Library, now: datetime, *, auto_approve: bool = False) -> list[int]:
    """Create (and, when allowed, approve) the reminders of tomorrow's events; returns the new broadcasts' ids."""
    tomorrow = aware(now).astimezone(VN_TZ).date() + timedelta(days=1)
    created: list[int] = []
    for event in library.events.items:
        if event.day != tomorrow or not event.province:
            continue
        province = library.provinces.current_of(event.province)
        if province is None:
            continue
        start, end = reminder_window(event.day, now)
        draft = Draft(text=reminder_text(event, province), start_at=start, end_at=end, topic=TOPIC_EVENTS,
                      province=province, event_key=event_key(event, province))
        try:
            broadcast_id = create(engine, draft, SYSTEM_ACCOUNT, library, now, system=True)
        except BroadcastError as exc:
            if not any("Đã có bản tin nhắc" in m or "Chưa có người đăng ký" in m for m in exc.messages):
                log.warning("event reminder not created (%d problem(s))", len(exc.messages))
            continue
        created.append(broadcast_id)
        if auto_approve:
            approve(engine, broadcast_id, SYSTEM_ACCOUNT, now, system=True)
        log.info("event reminder %d created%s", broadcast_id, " and approved" if auto_approve else "")
    return created
