"""Re-escalation to whoever is on duty (issue 14, item 3): direct messages to the counselors on duty, the
supervisor on call from the second level, nothing more without a roster; a hand-back restarts the clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cases import shifts
from bot.db.engine import session_factory
from bot.desk.accounts import create_account
from bot.outbox.models import DEAD, OutboxItem
from tests.desk.helpers import COUNSELORS, PASSWORD, SUPERVISORS, Desk, eventually, open_case
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio
LAN, MAI, HOA, OFF_DUTY = 11, 12, 13, 14


def staff_the_desk(engine: Engine, desk: Desk) -> None:
    """Lan and Mai counselors on duty now (Mai without Telegram), Hoa the supervisor on call; Tuan off duty."""
    create_account(engine, "lan", PASSWORD, "counselor", "Chị Lan", telegram_user_id=LAN)
    create_account(engine, "mai", PASSWORD, "counselor", "Chị Mai")
    create_account(engine, "hoa", PASSWORD, "supervisor", "Chị Hoa", telegram_user_id=HOA)
    create_account(engine, "tuan", PASSWORD, "counselor", "Anh Tuấn", telegram_user_id=OFF_DUTY)
    now = desk.clock.now()
    for username, name, on_call in (("lan", "Chị Lan", False), ("mai", "Chị Mai", False), ("hoa", "Chị Hoa", True)):
        shifts.add_duty(engine, username, name, on_call, now - timedelta(hours=1), now + timedelta(hours=8),
                        "desk:hoa", now)
    shifts.add_duty(engine, "tuan", "Anh Tuấn", False, now + timedelta(hours=8), now + timedelta(hours=16),
                    "desk:hoa", now)


def reminders(tg: FakeTelegram, chat: int, level: int) -> list[str]:
    """Texts of the level's re-escalation reminders sent to one chat."""
    return [t for t in tg.sent_texts(chat) if f"NHẮC LẠI lần {level}" in t]


async def test_reminder_goes_to_the_counselors_on_duty_then_the_supervisor_on_call(
        clocked_desk: Desk, engine: Engine, tg: FakeTelegram) -> None:
    desk = clocked_desk
    staff_the_desk(engine, desk)
    case_id = open_case(engine, urgency="danger_now")
    await tg.wait_for("sendMessage", chat_id=COUNSELORS)
    desk.clock.advance(minutes=5, seconds=10)
    await eventually(lambda: reminders(tg, LAN, 1))
    assert f"Ca #{case_id}" in reminders(tg, LAN, 1)[0]
    await eventually(lambda: reminders(tg, COUNSELORS, 1) and reminders(tg, SUPERVISORS, 1))  # as before
    await asyncio.sleep(0.3)
    assert reminders(tg, HOA, 1) == [] and tg.sent(OFF_DUTY) == []
    desk.clock.advance(minutes=5)
    await eventually(lambda: reminders(tg, HOA, 2) and reminders(tg, LAN, 2))
    await asyncio.sleep(0.3)
    assert len(reminders(tg, LAN, 1)) == 1 and len(reminders(tg, LAN, 2)) == 1  # once per level and person
    assert tg.sent(OFF_DUTY) == []


async def test_without_a_roster_nothing_changes(clocked_desk: Desk, engine: Engine, tg: FakeTelegram) -> None:
    desk = clocked_desk
    create_account(engine, "lan", PASSWORD, "counselor", "Chị Lan", telegram_user_id=LAN)
    open_case(engine, urgency="danger_now")
    await tg.wait_for("sendMessage", chat_id=COUNSELORS)
    desk.clock.advance(minutes=10, seconds=10)
    await eventually(lambda: reminders(tg, COUNSELORS, 2))
    await asyncio.sleep(0.3)
    assert {m.chat_id for m in tg.sent()} <= {COUNSELORS, SUPERVISORS, str(COUNSELORS), str(SUPERVISORS)}


async def test_a_counselor_who_never_opened_the_bot_holds_up_nothing(clocked_desk: Desk, engine: Engine,
                                                                    tg: FakeTelegram) -> None:
    desk = clocked_desk
    staff_the_desk(engine, desk)
    tg.reject("sendMessage", status=403, description="Forbidden: bot can't initiate conversation with a user",
              times=None, chat_id=LAN)
    case_id = open_case(engine, urgency="danger_now")
    await tg.wait_for("sendMessage", chat_id=COUNSELORS)
    desk.clock.advance(minutes=5, seconds=10)
    await eventually(lambda: reminders(tg, COUNSELORS, 1))
    await eventually(lambda: "đã nhắc lại 1 lần" in tg.sent(COUNSELORS)[0].text)  # the card lane moves on

    def dm_status() -> str | None:
        with session_factory(engine)() as s:
            return s.execute(select(OutboxItem.status).where(
                OutboxItem.dedup_key == f"reesc:{case_id}:1:dm:{LAN}")).scalar_one_or_none()
    assert await eventually(lambda: dm_status() == DEAD)  # given up, so /health does not stay degraded
