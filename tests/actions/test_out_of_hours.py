"""The urgent and counselor-request replies say honestly when a person will read the message (issue 14, item 3).

The action server reads the hours and the roster from the database through `Runtime.availability`; a database
that cannot answer leaves the plain wording, and the reply (with every number) still goes out.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from actions.actions import ActionHandleUrgent, ActionRequestCounselor
from bot.cases import shifts, spool
from bot.cases.store import CaseStore
from bot.runtime import Runtime, fixed_runtime, set_process_runtime
from bot.timeutil import VN_TZ, ManualClock
from tests.actions.conftest import make_tracker

EVERY_DAY = shifts.parse_hours("07:30-21:00")
PLAIN = "Tư vấn viên sẽ nhắn cho bạn ngay trong cuộc trò chuyện này sớm nhất có thể"
URGENT_TEXT = "cứu tôi với, chồng tôi đang đánh tôi"


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Vietnam time, December 2026 (the 2nd is a Wednesday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=VN_TZ)


@pytest.fixture
def at_time(library, store: CaseStore):
    """Install a runtime over the test database whose clock is set by calling the fixture's value."""
    rt = fixed_runtime(library, store)
    rt.hours = EVERY_DAY
    set_process_runtime(rt)

    def setter(when: datetime) -> Runtime:
        rt.clock = ManualClock(when)
        return rt
    yield setter
    set_process_runtime(None)


async def _urgent(dispatcher, domain) -> str:
    await ActionHandleUrgent().run(dispatcher, make_tracker(URGENT_TEXT, intent="report_violence", confidence=1.0),
                                   domain)
    [message] = dispatcher.messages
    return message["text"]


async def test_in_hours_the_counselor_on_duty_will_write(dispatcher, domain, at_time) -> None:
    at_time(vn(2, 10))
    text = await _urgent(dispatcher, domain)
    assert "Tư vấn viên đang trực sẽ nhắn cho bạn" in text
    assert "ngoài giờ" not in text and "113" in text


async def test_out_of_hours_says_from_when_and_gives_the_24_7_numbers(dispatcher, domain, at_time) -> None:
    at_time(vn(2, 22, 30))
    text = await _urgent(dispatcher, domain)
    assert "Lúc này ngoài giờ làm việc của tư vấn viên" in text
    assert "Tư vấn viên sẽ đọc tin nhắn của bạn từ 7:30 sáng mai" in text
    assert "24/7" in text and "đang trực sẽ nhắn" not in text
    for number in ("113", "115", "111"):
        assert number in text


async def test_in_hours_with_nobody_on_duty_waits_for_the_next_duty(dispatcher, domain, at_time, store) -> None:
    now = vn(2, 12, 15)
    shifts.add_duty(store.engine, "lan", "Chị Lan", False, vn(2, 7, 30), vn(2, 12), "desk:hoa", now)
    shifts.add_duty(store.engine, "mai", "Chị Mai", False, vn(2, 13), vn(2, 21), "desk:hoa", now)
    at_time(now)
    text = await _urgent(dispatcher, domain)
    assert "Lúc này chưa có tư vấn viên trực. Tư vấn viên sẽ đọc tin nhắn của bạn từ 13:00 chiều nay" in text
    assert "Chị Mai" not in text  # a counselor is never named to the resident


async def test_counselor_request_out_of_hours_is_honest_too(dispatcher, domain, at_time) -> None:
    at_time(vn(5, 23))  # Saturday night: Sunday morning
    await ActionRequestCounselor().run(dispatcher, make_tracker("cho tôi gặp tư vấn viên", "request_counselor"),
                                       domain)
    text = dispatcher.messages[0]["text"]
    assert "Tư vấn viên sẽ đọc tin nhắn của bạn từ 7:30 sáng mai" in text and "24/7" in text


async def test_counselor_request_in_hours(dispatcher, domain, at_time) -> None:
    at_time(vn(2, 9))
    await ActionRequestCounselor().run(dispatcher, make_tracker("cho tôi gặp tư vấn viên", "request_counselor"),
                                       domain)
    assert "Tư vấn viên đang trực sẽ nhắn cho bạn" in dispatcher.messages[0]["text"]


async def test_roster_unreadable_keeps_todays_wording_and_the_case(dispatcher, domain, at_time, store,
                                                                  monkeypatch) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("database gone away")
    monkeypatch.setattr(shifts, "availability", broken)
    at_time(vn(2, 22, 30))
    text = await _urgent(dispatcher, domain)
    [case] = store.list_cases()
    assert PLAIN in text and f"#{case.id}" in text and "113" in text


async def test_database_down_keeps_todays_wording(dispatcher, domain, library, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(spool, "spool_path", lambda: tmp_path / "spool.jsonl")
    rt = fixed_runtime(library, None)
    rt.engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'app.db'}")  # cannot even connect
    rt.clock = ManualClock(vn(2, 22, 30))
    set_process_runtime(rt)
    try:
        text = await _urgent(dispatcher, domain)
    finally:
        set_process_runtime(None)
    assert PLAIN in text and "113" in text
    assert URGENT_TEXT in (tmp_path / "spool.jsonl").read_text(encoding="utf-8")
