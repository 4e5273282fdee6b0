"""Event reminders: one per event of a province, the day before, from the event's own fields, approved as set."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Engine

from bot.content.events import Events
from bot.content.library import Library
from bot.outreach import broadcasts as bc
from bot.outreach.models import APPROVED, DRAFT, TOPIC_EVENTS
from bot.outreach.reminders import ensure_reminders
from bot.outreach.scheduler import BroadcastScheduler
from bot.timeutil import UTC, VN_TZ, ManualClock
from tests.outreach.helpers import add_sub

TITLE = "Lễ phát động Tháng hành động vì bình đẳng giới và phòng ngừa, ứng phó với bạo lực trên cơ sở giới"


def with_events(library: Library, day: date) -> Library:
    events = Events([
        {"title": TITLE, "province": "Kon Tum", "district": "huyện Ngọc Hồi", "date": day, "time": "sáng",
         "place": "Nhà văn hóa huyện Ngọc Hồi", "source": "test"},
        {"title": "Diễn đàn thanh niên", "province": "Cà Mau", "date": day, "source": "test"},      # no subscriber
        {"title": "Hội thi", "province": "Gia Lai", "date": day + timedelta(days=3), "source": "test"},  # not tomorrow
    ])
    return dataclasses.replace(library, events=events)


def test_one_draft_per_event_of_tomorrow_with_the_events_fields(staffed: Engine, library: Library) -> None:
    now = datetime(2026, 11, 24, 9, 30, tzinfo=VN_TZ).astimezone(UTC)
    add_sub(staffed, "zalo:1", province="Quảng Ngãi", topics="events", now=now)
    add_sub(staffed, "zalo:9", province="Gia Lai", topics="events", now=now)
    lib = with_events(library, date(2026, 11, 25))
    created = ensure_reminders(staffed, lib, now)
    assert len(created) == 1
    assert ensure_reminders(staffed, lib, now + timedelta(minutes=5)) == []  # once per event
    view = bc.get_broadcast(staffed, created[0])
    assert (view.state, view.topic, view.province, view.created_by) == (DRAFT, TOPIC_EVENTS, "Quảng Ngãi",
                                                                         bc.SYSTEM_ACCOUNT)
    assert "sáng, ngày 25/11/2026" in view.text and "Nhà văn hóa huyện Ngọc Hồi" in view.text
    assert view.text.rstrip().endswith(TITLE)
    assert view.start_at == now  # after 08:00 the day before: at once
    assert view.end_at == datetime(2026, 11, 25, 0, 0, tzinfo=VN_TZ)
    # Staff approve it like any other broadcast; he-thong is not them.
    bc.approve(staffed, created[0], "an", now)
    assert bc.get_broadcast(staffed, created[0]).state == APPROVED


def test_reminder_created_early_waits_for_the_morning_and_may_be_approved_automatically(
        staffed: Engine, library: Library) -> None:
    now = datetime(2026, 11, 24, 1, 0, tzinfo=VN_TZ).astimezone(UTC)
    add_sub(staffed, "zalo:1", province="Quảng Ngãi", topics="events", now=now)
    lib = with_events(library, date(2026, 11, 25))
    scheduler = BroadcastScheduler(staffed, ManualClock(now), lambda: lib, auto_approve_reminders=True)
    scheduler.tick()
    (item,) = bc.list_broadcasts(staffed)
    view = bc.get_broadcast(staffed, item.id)
    assert view.state == APPROVED and view.approved_by == bc.SYSTEM_ACCOUNT
    assert view.start_at == datetime(2026, 11, 24, 8, 0, tzinfo=VN_TZ)
    assert bc.status(staffed, item.id).recipients == 0  # not started before 08:00
