"""The outbox on its own: de-duplication, per-lane order, backoff, giving up, side effects on success."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.cases.models import CaseEvent
from bot.db.engine import session_factory
from bot.outbox.dispatcher import Delivery, Dispatcher, backoff
from bot.outbox.enqueue import enqueue
from bot.outbox.errors import GiveUp, RetryLater
from bot.outbox.models import DEAD, PENDING, SENT, OutboxItem
from bot.timeutil import ManualClock, aware
from tests.desk.helpers import open_case

pytestmark = pytest.mark.asyncio


START = ManualClock().now() - timedelta(seconds=1)


def add(engine, key: str, lane: str = "tg:1", kind: str = "k", case_id: int | None = None) -> bool:
    """Enqueue one row in its own transaction, due at once for any test clock."""
    with session_factory(engine).begin() as s:
        return enqueue(s, key=key, kind=kind, lane=lane, payload={"key": key}, now=START, case_id=case_id)


def rows(engine) -> dict[str, OutboxItem]:
    """Outbox rows by key."""
    with session_factory(engine)() as s:
        return {r.dedup_key: r for r in s.execute(select(OutboxItem)).scalars()}


async def test_same_event_is_enqueued_once(engine) -> None:
    assert add(engine, "card:1") is True
    assert add(engine, "card:1") is False
    assert list(rows(engine)) == ["card:1"]


async def test_rows_of_a_lane_go_in_order_and_lanes_do_not_block_each_other(engine) -> None:
    clock = ManualClock()
    delivered: list[str] = []
    failing = {"a1"}

    async def handler(item: Delivery) -> None:
        if item.payload["key"] in failing:
            raise RetryLater("down")
        delivered.append(item.payload["key"])

    for key, lane in (("a1", "lane-a"), ("a2", "lane-a"), ("b1", "lane-b"), ("b2", "lane-b")):
        add(engine, key, lane)
    dispatcher = Dispatcher(engine, clock, {"k": handler}, max_backoff=60)
    await dispatcher.drain()
    assert delivered == ["b1", "b2"]  # a2 waits behind the failing a1
    assert rows(engine)["a2"].attempts == 0
    failing.clear()
    await dispatcher.drain()
    assert delivered == ["b1", "b2"]  # a1 is not due yet: backoff
    clock.advance(seconds=2)
    await dispatcher.drain()
    assert delivered == ["b1", "b2", "a1", "a2"]
    assert {r.status for r in rows(engine).values()} == {SENT}


async def test_backoff_grows_and_honours_retry_after(engine) -> None:
    clock = ManualClock()
    waits: list[float] = []

    async def handler(item: Delivery) -> None:
        raise RetryLater("down", after=7 if item.attempts == 3 else None)

    add(engine, "x")
    dispatcher = Dispatcher(engine, clock, {"k": handler}, max_backoff=20)
    for _ in range(7):
        await dispatcher.run_once()
        row = rows(engine)["x"]
        waits.append((aware(row.next_attempt_at) - clock.now()).total_seconds())
        clock.set(aware(row.next_attempt_at))
    assert 0.8 <= waits[0] <= 1.2 and 1.6 <= waits[1] <= 2.4 and 3.2 <= waits[2] <= 4.8
    assert waits[3] >= 7  # the platform's retry_after wins over a shorter backoff
    assert all(w <= 24 for w in waits) and waits[-1] >= 16  # capped near max_backoff
    assert rows(engine)["x"].status == PENDING and rows(engine)["x"].attempts == 7
    assert backoff(1, 300) < backoff(5, 300) * 2


async def test_limited_kinds_give_up_and_leave_a_trace_on_the_case(engine) -> None:
    clock = ManualClock()
    case_id = open_case(engine)

    async def handler(item: Delivery) -> None:
        raise RetryLater("channel down")

    add(engine, "push", lane="res:x", kind="resident_push", case_id=case_id)
    dispatcher = Dispatcher(engine, clock, {"resident_push": handler}, max_attempts={"resident_push": 3})
    for _ in range(5):
        await dispatcher.run_once()
        clock.advance(minutes=10)
    assert rows(engine)["push"].status == DEAD and rows(engine)["push"].attempts == 3
    with session_factory(engine)() as s:
        failed = s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                   CaseEvent.kind == "delivery_failed")).scalars().all()
    assert len(failed) == 1 and "channel down" in failed[0].detail


async def test_give_up_marks_dead_at_once(engine) -> None:
    async def handler(item: Delivery) -> None:
        raise GiveUp("not retryable")

    add(engine, "g")
    await Dispatcher(engine, ManualClock(), {"k": handler}).drain()
    assert rows(engine)["g"].status == DEAD and rows(engine)["g"].attempts == 0


async def test_side_effects_are_committed_with_the_sent_mark(engine) -> None:
    case_id = open_case(engine)

    async def handler(item: Delivery):
        def commit(s) -> None:
            s.add(CaseEvent(case_id=case_id, kind="notified", actor="test", detail="ok"))
        return commit

    add(engine, "n")
    await Dispatcher(engine, ManualClock(), {"k": handler}).drain()
    with session_factory(engine)() as s:
        kinds = [e.kind for e in s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)).scalars()]
    assert kinds == ["created", "notified"] and rows(engine)["n"].status == SENT


async def test_a_leased_row_is_not_taken_twice(engine) -> None:
    clock = ManualClock()
    add(engine, "l")

    async def handler(item: Delivery) -> None:
        raise AssertionError("only leasing is tested here")

    first = Dispatcher(engine, clock, {"k": handler})
    second = Dispatcher(engine, clock, {"k": handler})
    assert [d.payload["key"] for d in first._take()] == ["l"]
    assert second._take() == []
    clock.advance(seconds=61)  # the lease of a crashed process runs out
    assert [d.payload["key"] for d in second._take()] == ["l"]
    second.release_leases()
    assert rows(engine)["l"].lease_until is None
