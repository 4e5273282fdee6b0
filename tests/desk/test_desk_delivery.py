"""Resident pushes: the channels' RetryLater / GiveUp reach the dispatcher unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.cases.models import CaseEvent
from bot.db.engine import session_factory
from bot.desk.delivery import resident_handlers
from bot.desk.rasa import TranscriptReader
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.enqueue import enqueue
from bot.outbox.errors import GiveUp, RetryLater
from bot.outbox.models import DEAD, PENDING, SENT, OutboxItem
from bot.timeutil import ManualClock
from tests.desk.helpers import FakeOutbound, RecordingRasa, open_case

pytestmark = pytest.mark.asyncio


def push(engine, clock: ManualClock, case_id: int) -> None:
    """Queue one message for resident zalo:1."""
    with session_factory(engine).begin() as s:
        enqueue(s, key="reply:1:push", kind="resident_push", lane="res:zalo:1", case_id=case_id, now=clock.now(),
                payload={"sender_id": "zalo:1", "text": "Chị ở đây", "by_human": True})


def row(engine) -> OutboxItem:
    """The push row."""
    with session_factory(engine)() as s:
        return s.execute(select(OutboxItem).where(OutboxItem.dedup_key == "reply:1:push")).scalar_one()


def dispatcher(engine, clock: ManualClock, outbound: FakeOutbound) -> Dispatcher:
    """A dispatcher with only the resident handlers."""
    return Dispatcher(engine, clock, resident_handlers(outbound, RecordingRasa(), TranscriptReader(None)),
                      max_attempts={"resident_push": 12})


async def test_retry_later_from_the_channel_is_retried_then_sent(engine) -> None:
    clock = ManualClock()
    case_id = open_case(engine, sender="zalo:1")
    push(engine, clock, case_id)
    outbound = FakeOutbound(failures=1, error=RetryLater("zalo:-32", after=30))
    d = dispatcher(engine, clock, outbound)
    await d.drain()
    assert row(engine).status == PENDING and row(engine).attempts == 1 and row(engine).last_error == "zalo:-32"
    clock.advance(seconds=20)
    await d.drain()
    assert outbound.sent == []  # the platform's own wait is honoured
    clock.advance(seconds=15)
    await d.drain()
    assert row(engine).status == SENT and outbound.sent == [("zalo:1", "Chị ở đây", True)]


async def test_give_up_from_the_channel_ends_the_row_at_once_with_a_trace(engine) -> None:
    clock = ManualClock()
    case_id = open_case(engine, sender="zalo:1")
    push(engine, clock, case_id)
    await dispatcher(engine, clock, FakeOutbound(failures=1, error=GiveUp("zalo:-230"))).drain()
    assert row(engine).status == DEAD and row(engine).attempts == 0
    with session_factory(engine)() as s:
        failed = s.execute(select(CaseEvent.detail).where(CaseEvent.case_id == case_id,
                                                          CaseEvent.kind == "delivery_failed")).scalars().all()
    assert failed == ["resident_push: zalo:-230"]
