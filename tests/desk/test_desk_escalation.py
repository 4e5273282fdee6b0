"""Re-escalation with a controllable clock: deadlines per urgency, supervisor told, stale claims flagged."""

from __future__ import annotations

import asyncio

import pytest

from bot.cases.store import CaseStore
from bot.desk.commands import Actor
from bot.timeutil import ManualClock
from tests.desk.helpers import (
    COUNSELORS,
    SUPERVISORS,
    Desk,
    eventually,
    manual_clock,
    open_case,
    start_desk,
)
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio


def reescalations(desk: Desk, case_id: int) -> list[str]:
    """Details of a case's re-escalation events."""
    return [e.detail for e in CaseStore(desk.engine).events(case_id) if e.kind == "reescalated"]


async def test_danger_now_unclaimed_after_five_minutes_reaches_supervisor(clocked_desk: Desk,
                                                                         tg: FakeTelegram) -> None:
    desk, clock = clocked_desk, clocked_desk.clock
    assert isinstance(clock, ManualClock)
    case_id = open_case(desk.engine, urgency="danger_now")
    await tg.wait_for("sendMessage", chat_id=COUNSELORS)
    clock.advance(minutes=4, seconds=50)
    await asyncio.sleep(0.4)
    assert reescalations(desk, case_id) == []
    assert tg.sent(SUPERVISORS) == []
    clock.advance(seconds=20)
    notices = await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "NHẮC LẠI lần 1" in m.text])
    assert "@giamsat_tuvan" in notices[0].text and "5 phút" in notices[0].text
    assert notices[0].reply_to_message_id == tg.sent(COUNSELORS)[0].message_id
    supervisor = await eventually(lambda: tg.sent(SUPERVISORS) if len(tg.sent(SUPERVISORS)) >= 2 else None)
    texts = [m.text for m in supervisor]
    assert any("NHẮC LẠI lần 1" in t for t in texts)
    card = next(m for m in supervisor if m.reply_markup)
    assert f"· Ca #{case_id}\n" in card.text and [b["text"] for b in card.buttons()] == ["Nhận ca", "Đã xử lý"]
    assert reescalations(desk, case_id) == ["Lần 1: chưa ai nhận sau 5 phút; đã báo giám sát"]
    # The group card shows it, and nothing repeats until the next deadline.
    await eventually(lambda: "đã nhắc lại 1 lần" in tg.sent(COUNSELORS)[0].text)
    await asyncio.sleep(0.4)
    assert len([m for m in tg.sent(COUNSELORS) if "NHẮC LẠI" in m.text]) == 1
    clock.advance(minutes=5)
    await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "NHẮC LẠI lần 2" in m.text])
    assert len([m for m in tg.sent(SUPERVISORS) if m.reply_markup]) == 1  # one supervisor card only
    # Once claimed, no more reminders.
    outcome = await asyncio.to_thread(desk.commands.claim, case_id, Actor("tg:11", "TV11"), "Telegram")
    assert outcome.ok
    clock.advance(minutes=30)
    await asyncio.sleep(0.4)
    assert len(reescalations(desk, case_id)) == 2
    # The supervisor's copy of the card is edited too.
    await eventually(lambda: "Đã nhận" in card.text)


async def test_needs_support_deadline_is_thirty_minutes(clocked_desk: Desk, tg: FakeTelegram) -> None:
    desk, clock = clocked_desk, clocked_desk.clock
    case_id = open_case(desk.engine, urgency="needs_support", sender="zalo:1")
    await tg.wait_for("sendMessage", chat_id=COUNSELORS)
    clock.advance(minutes=29)
    await asyncio.sleep(0.4)
    assert reescalations(desk, case_id) == []
    clock.advance(minutes=1, seconds=1)
    await eventually(lambda: reescalations(desk, case_id))
    assert reescalations(desk, case_id)[0].startswith("Lần 1: chưa ai nhận sau 30 phút")


async def test_deadlines_are_configurable(engine, tg: FakeTelegram) -> None:
    from datetime import timedelta

    clock = manual_clock()
    desk = await start_desk(engine, tg, clock=clock, deadlines={"danger_now": timedelta(minutes=1),
                                                                "needs_support": timedelta(minutes=2)})
    try:
        case_id = open_case(engine)
        await tg.wait_for("sendMessage", chat_id=COUNSELORS)
        clock.advance(minutes=1, seconds=1)
        await eventually(lambda: reescalations(desk, case_id))
    finally:
        await desk.stop()


async def test_claimed_case_not_resolved_in_a_day_is_flagged_once(clocked_desk: Desk, tg: FakeTelegram) -> None:
    desk, clock = clocked_desk, clocked_desk.clock
    case_id = open_case(desk.engine, sender="messenger:3")
    await tg.wait_for("sendMessage", chat_id=COUNSELORS)
    await asyncio.to_thread(desk.commands.claim, case_id, Actor("tg:12", "TV12"), "Telegram")
    clock.advance(hours=23, minutes=59)
    await asyncio.sleep(0.4)
    assert not [e for e in CaseStore(desk.engine).events(case_id) if e.kind == "flagged_stale"]
    clock.advance(minutes=2)
    flags = await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "vẫn chưa được xử lý xong" in m.text])
    assert "TV12" in flags[0].text and "@giamsat_tuvan" in flags[0].text
    await eventually(lambda: [m for m in tg.sent(SUPERVISORS) if "vẫn chưa được xử lý xong" in m.text])
    await eventually(lambda: "quá 1 ngày" in tg.sent(COUNSELORS)[0].text)
    clock.advance(hours=5)
    await asyncio.sleep(0.4)
    events = [e for e in CaseStore(desk.engine).events(case_id) if e.kind == "flagged_stale"]
    assert len(events) == 1 and events[0].actor == "Hệ thống <desk>"
    assert len([m for m in tg.sent(COUNSELORS) if "vẫn chưa được xử lý xong" in m.text]) == 1


async def test_a_broken_supervisor_chat_never_holds_up_the_group(clocked_desk: Desk, tg: FakeTelegram) -> None:
    desk, clock = clocked_desk, clocked_desk.clock
    tg.reject("sendMessage", chat_id=SUPERVISORS, times=None)
    case_id = open_case(desk.engine)
    await tg.wait_for("sendMessage", chat_id=COUNSELORS)
    clock.advance(minutes=6)
    await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "NHẮC LẠI lần 1" in m.text])
    await eventually(lambda: tg.calls("sendMessage", outcome="rejected"))
    assert tg.sent(SUPERVISORS) == []
    await asyncio.to_thread(desk.commands.claim, case_id, Actor("tg:11", "TV11"), "Telegram")
    await eventually(lambda: "✋ Đã nhận" in tg.sent(COUNSELORS)[0].text)
    async with desk.http.get(f"{desk.url}/health", headers={"Authorization": "Bearer test-api-token"}) as resp:
        assert resp.status == 503 and (await resp.json())["notifications"] == "failing"
