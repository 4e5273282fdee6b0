"""The hand-over at the end of a shift (issue 14, item 3): to a counselor on duty, or back to the queue; the note is
in each case's history; the resident is told nothing; a hand-back restarts the re-escalation clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.cases import shifts
from bot.cases.models import CLAIMED, OPEN
from bot.cases.store import CaseStore
from bot.desk import handover
from bot.desk.accounts import create_account
from bot.desk.commands import Actor
from tests.desk.helpers import COUNSELORS, PASSWORD, Desk, eventually, open_case
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio
LAN = Actor("desk:lan", "Chị Lan", frozenset({"tg:11"}))
MAI = Actor("desk:mai", "Chị Mai", frozenset({"tg:12"}))
NOTE = "Chị ấy đang ở nhà mẹ đẻ, hẹn gọi lại lúc 8 giờ sáng"


def roster(engine: Engine, desk: Desk) -> None:
    """Lan and Mai on duty now; Tuấn only tomorrow."""
    for username, name, tg_id in (("lan", "Chị Lan", 11), ("mai", "Chị Mai", 12), ("tuan", "Anh Tuấn", 14)):
        create_account(engine, username, PASSWORD, "counselor", name, telegram_user_id=tg_id)
    now = desk.clock.now()
    for username, name in (("lan", "Chị Lan"), ("mai", "Chị Mai")):
        shifts.add_duty(engine, username, name, False, now - timedelta(hours=1), now + timedelta(hours=4), "t", now)
    shifts.add_duty(engine, "tuan", "Anh Tuấn", False, now + timedelta(hours=20), now + timedelta(hours=28), "t", now)


async def claimed_by_lan(desk: Desk, count: int) -> list[int]:
    ids = [open_case(desk.engine, sender=f"zalo:{n}", urgency="needs_support") for n in range(count)]
    for case_id in ids:
        assert (await asyncio.to_thread(desk.commands.claim, case_id, LAN, "bảng điều khiển")).ok
    return ids


async def test_hand_over_to_a_counselor_on_duty(clocked_desk: Desk, engine: Engine, tg: FakeTelegram) -> None:
    desk = clocked_desk
    roster(engine, desk)
    ids = await claimed_by_lan(desk, 2)
    await eventually(lambda: len(desk.outbound.sent) == 2)  # "a counselor has taken your case", once each
    told = list(desk.outbound.sent)
    assert [c.username for c in handover.colleagues(desk.commands, LAN)] == ["mai"]  # not Tuấn (off), not herself

    outcome = await asyncio.to_thread(handover.hand_over, desk.commands, LAN, "mai", NOTE, "bảng điều khiển")
    assert outcome.ok and "cho Chị Mai" in outcome.message
    store = CaseStore(engine)
    for case_id in ids:
        case = store.get(case_id)
        assert case.status == CLAIMED and MAI.owns(case.claimed_by) and not LAN.owns(case.claimed_by)
        [event] = [e for e in store.events(case_id) if e.kind == shifts.HANDED_OVER]
        assert NOTE in event.detail and "Chị Mai" in event.detail and LAN.owns(event.actor)
    await eventually(lambda: [t for t in tg.sent_texts(COUNSELORS) if "bàn giao cho Chị Mai" in t])
    await eventually(lambda: [t for t in tg.sent_texts(12) if "bàn giao cho Chị Mai" in t])  # Mai's phone too
    # Mai now answers the resident; Lan no longer can; the resident was told nothing new.
    assert (await asyncio.to_thread(desk.commands.reply, ids[0], MAI, "Chào chị, em là Mai.", "bảng điều khiển")).ok
    assert not (await asyncio.to_thread(desk.commands.reply, ids[0], LAN, "Chị Lan đây", "bảng điều khiển")).ok
    await eventually(lambda: len(desk.outbound.sent) == 3)
    assert desk.outbound.sent == [*told, ("zalo:0", "Chào chị, em là Mai.", True)]
    # Submitting again moves nothing twice.
    again = await asyncio.to_thread(handover.hand_over, desk.commands, LAN, "mai", NOTE, "bảng điều khiển")
    assert not again.ok and "không còn ca" in again.message
    assert sum(e.kind == shifts.HANDED_OVER for e in store.events(ids[0])) == 1


async def test_only_to_someone_on_duty_and_only_with_a_note(clocked_desk: Desk, engine: Engine) -> None:
    desk = clocked_desk
    roster(engine, desk)
    [case_id] = await claimed_by_lan(desk, 1)
    off = await asyncio.to_thread(handover.hand_over, desk.commands, LAN, "tuan", NOTE, "bảng điều khiển")
    assert not off.ok and "đang trực" in off.message
    bare = await asyncio.to_thread(handover.hand_over, desk.commands, LAN, "mai", "  ", "bảng điều khiển")
    assert not bare.ok and "ghi chú" in bare.message.lower()
    mine = await asyncio.to_thread(handover.hand_over, desk.commands, MAI, "", NOTE, "bảng điều khiển")
    assert not mine.ok  # Mai holds nothing: Lan's case does not move
    assert LAN.owns(CaseStore(engine).get(case_id).claimed_by)


async def test_back_to_the_queue_realerts_and_restarts_the_clock(clocked_desk: Desk, engine: Engine,
                                                                 tg: FakeTelegram) -> None:
    desk = clocked_desk
    roster(engine, desk)
    [case_id] = await claimed_by_lan(desk, 1)
    await eventually(lambda: len(desk.outbound.sent) == 1)
    desk.clock.advance(minutes=40)  # a long conversation; the case is far past its 30-minute deadline
    note = NOTE + ", số của chị ấy 0912 345 678"
    outcome = await asyncio.to_thread(handover.hand_over, desk.commands, LAN, handover.QUEUE, note, "bảng điều khiển")
    assert outcome.ok and "hàng chờ" in outcome.message
    store = CaseStore(engine)
    case = store.get(case_id)
    assert case.status == OPEN and case.claimed_by is None and case.claimed_at is None
    assert any(e.kind == shifts.RETURNED and note in e.detail for e in store.events(case_id))  # in full, console only
    [notice] = await eventually(lambda: [t for t in tg.sent_texts(COUNSELORS) if "trả lại hàng chờ" in t])
    assert NOTE in notice and "0912" not in notice  # Telegram gets the note masked, like every resident detail
    await eventually(lambda: [t for t in tg.sent_texts(12) if "trả lại hàng chờ" in t])  # Mai, on duty
    await eventually(lambda: "resume" in desk.rasa.kinds("zalo:0"))  # the bot answers until someone claims it
    assert len(desk.outbound.sent) == 1 and desk.rasa.texts("zalo:0") == [desk.outbound.sent[0][1]]
    # The re-escalation clock starts again at the hand-back: nothing at 29 minutes, level 1 after 30.
    desk.clock.advance(minutes=29)
    await asyncio.sleep(0.4)
    assert [e for e in store.events(case_id) if e.kind == "reescalated"] == []
    desk.clock.advance(minutes=1, seconds=10)
    await eventually(lambda: [e for e in store.events(case_id) if e.kind == "reescalated"])
    [event] = [e for e in store.events(case_id) if e.kind == "reescalated"]
    assert event.detail.startswith("Lần 1: chưa ai nhận sau 30 phút")
    # Anyone on duty claims it again.
    assert (await asyncio.to_thread(desk.commands.claim, case_id, MAI, "bảng điều khiển")).ok
