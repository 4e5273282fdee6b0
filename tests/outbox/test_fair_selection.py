"""Fair selection: a burst of junk or a long outage never hides a danger-now card or a counselor reply.

The dispatcher looks at the head of every pending lane (not the oldest rows only) and starts the due
heads by priority: danger-now cases' Telegram rows, then messages to residents, then the rest.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from bot.cases.models import Case, CaseEvent
from bot.cases.store import CaseRequest, CaseStore
from bot.db.engine import session_factory
from bot.outbox.dispatcher import Delivery, Dispatcher
from bot.outbox.enqueue import enqueue
from bot.outbox.models import PRIORITY_DANGER, OutboxItem
from bot.timeutil import ManualClock, utcnow
from tests.desk.helpers import COUNSELORS, eventually, open_case, start_desk
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio
JUNK = 5000


def add_junk_cases(engine, count: int = JUNK, backing_off_every: int = 2) -> list[int]:
    """`count` needs-support cases with their card rows, as a burst would leave them; every
    `backing_off_every`-th card has already failed and waits for its retry (a long Telegram outage)."""
    now = utcnow()
    with engine.begin() as conn:
        first = (conn.execute(select(Case.id).order_by(Case.id.desc()).limit(1)).scalar() or 0) + 1
        ids = list(range(first, first + count))
        conn.execute(insert(Case), [{"id": i, "channel": "rest", "sender_id": f"rest:junk-{i}",
                                     "urgency": "needs_support", "status": "open", "created_at": now,
                                     "updated_at": now, "message": "rác", "reasons": "spam"} for i in ids])
        conn.execute(insert(OutboxItem), [
            {"dedup_key": f"card:{i}", "kind": "tg_card", "lane": f"tg:{i}", "case_id": i, "payload": "{}",
             "status": "pending", "attempts": 3 if (n + 1) % backing_off_every == 0 else 0,
             "next_attempt_at": now + timedelta(hours=1) if (n + 1) % backing_off_every == 0 else now,
             "created_at": now} for n, i in enumerate(ids)])
    return ids


def recorder(order: list[str]):
    """A handler that records which rows it was given, in order."""
    async def deliver(item: Delivery) -> None:
        order.append(item.lane)
    return deliver


async def test_a_danger_card_is_taken_first_behind_thousands_of_junk_rows(engine) -> None:
    add_junk_cases(engine)
    danger = open_case(engine, sender="zalo:victim", urgency="danger_now")
    with session_factory(engine)() as s:
        assert s.execute(select(OutboxItem.priority).where(OutboxItem.dedup_key == f"card:{danger}")
                         ).scalar_one() == PRIORITY_DANGER
    order: list[str] = []
    dispatcher = Dispatcher(engine, ManualClock(utcnow() + timedelta(seconds=1)), {"tg_card": recorder(order)},
                            concurrency=1)
    started = time.monotonic()
    await dispatcher.run_once()
    assert order[0] == f"tg:{danger}"
    assert time.monotonic() - started < 5


async def test_counselor_replies_go_before_the_rest_and_a_raised_case_lifts_its_whole_lane(engine) -> None:
    add_junk_cases(engine, 500, backing_off_every=10**9)  # all due
    case_id = open_case(engine, sender="zalo:raised", urgency="needs_support")
    with session_factory(engine).begin() as s:
        enqueue(s, key="reply:1:push", kind="resident_push", lane="res:zalo:1", payload={}, now=utcnow(),
                priority=1)
    # The case turns into danger while its card still waits: the card (head of its lane) goes first.
    CaseStore(engine).open_case(CaseRequest(
        channel="zalo", sender_id="zalo:raised", urgency="danger_now", message="Anh ta cầm dao", reasons=("dao",)))
    order: list[str] = []
    handler = recorder(order)
    dispatcher = Dispatcher(engine, ManualClock(utcnow() + timedelta(seconds=1)),
                            {"tg_card": handler, "tg_refresh": handler, "tg_forward": handler,
                             "resident_push": handler}, concurrency=1)
    for _ in range(5):
        await dispatcher.run_once()
    # Telegram and resident lanes have their own slots: the reply starts with the first Telegram row. The card,
    # the danger refresh and the forwarded message (one lane, in order) go before any junk card.
    assert order[:5] == [f"tg:{case_id}", "res:zalo:1", f"tg:{case_id}", f"tg:{case_id}", "tg:1"]


async def test_a_pass_leases_no_more_rows_than_it_can_start(engine) -> None:
    add_junk_cases(engine, 100, backing_off_every=10**9)
    clock = ManualClock(utcnow() + timedelta(seconds=1))
    dispatcher = Dispatcher(engine, clock, {"tg_card": recorder([])}, concurrency=4)
    assert len(dispatcher._take()) == 4
    with session_factory(engine)() as s:
        leased = s.execute(select(OutboxItem.id).where(OutboxItem.lease_until.is_not(None))).all()
    assert len(leased) == 4  # the others stay free for a later, possibly more urgent, choice


async def test_junk_burst_and_outage_do_not_hide_a_new_danger_card_from_the_group(engine) -> None:
    tg = FakeTelegram(token="777:FAIR-TEST")
    await tg.start()
    try:
        add_junk_cases(engine)
        danger = open_case(engine, sender="zalo:victim", urgency="danger_now",
                           message="Chồng tôi đang đánh tôi, cứu tôi")
        started = time.monotonic()
        desk = await start_desk(engine, tg, reconcile_interval=3600.0)
        try:
            marker = f"· Ca #{danger}\n"

            async def arrived() -> bool:
                while not any(marker in m.text for m in tg.sent(COUNSELORS)):
                    await asyncio.sleep(0.02)
                return True

            await asyncio.wait_for(arrived(), timeout=10)
            elapsed = time.monotonic() - started
            cards = [m.text for m in tg.sent(COUNSELORS)]
            assert marker in cards[0], cards[:3]  # it went alone: the junk started after it
            assert elapsed < 10

            def notified() -> bool:
                with session_factory(engine)() as s:
                    return bool(s.execute(select(CaseEvent.id).where(CaseEvent.case_id == danger,
                                                                     CaseEvent.kind == "notified")).all())
            await eventually(notified)  # and the card is recorded as posted
        finally:
            await desk.stop()
    finally:
        await tg.stop()


async def test_a_hanging_telegram_never_takes_the_slots_of_the_pushes_to_residents(engine) -> None:
    now = utcnow()
    with session_factory(engine).begin() as s:
        for i in range(40):  # danger cards while Telegram hangs
            enqueue(s, key=f"card:{i}", kind="tg_card", lane=f"tg:{i}", payload={}, now=now, priority=PRIORITY_DANGER)
        enqueue(s, key="reply:1:push", kind="resident_push", lane="res:zalo:1", payload={}, now=now, priority=1)
    hang, pushed = asyncio.Event(), asyncio.Event()

    async def telegram(item: Delivery) -> None:
        await hang.wait()

    async def push(item: Delivery) -> None:
        pushed.set()

    dispatcher = Dispatcher(engine, ManualClock(now + timedelta(seconds=1)), {"tg_card": telegram,
                                                                              "resident_push": push})
    runner = asyncio.create_task(dispatcher.run_forever(0.05))
    try:
        await asyncio.wait_for(pushed.wait(), timeout=3)
        assert sum(lane.startswith("tg:") for lane in dispatcher._inflight) == 8  # its own eight slots, no more
    finally:
        hang.set()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_cards_of_a_flood_wait_behind_an_ordinary_case_opened_after_it(engine) -> None:
    """The global brake: above the flood threshold of a channel its new needs-support cases are still recorded
    and carded, but their cards go after every other case's (a burst cannot push a real resident's card down)."""
    from bot.cases.store import CaseLimits
    from bot.outbox.models import PRIORITY_FLOOD

    flooding = CaseStore(engine, CaseLimits(flood_threshold=3, flood_window=timedelta(minutes=10)))
    burst = [flooding.open_case(CaseRequest(channel="rest", sender_id=f"rest:burst-{n}", urgency="needs_support",
                                            message="rác", reasons=("spam",)))[0].id for n in range(40)]
    flooded = [i for i in burst if flooding.get(i).flood]
    assert len(flooded) == 37
    real = CaseStore(engine).open_case(CaseRequest(channel="zalo", sender_id="zalo:real", urgency="needs_support",
                                                   message="Tôi cần nói chuyện", reasons=("cần hỗ trợ",)))[0].id
    with session_factory(engine)() as s:
        assert {s.execute(select(OutboxItem.priority).where(OutboxItem.dedup_key == f"card:{i}")).scalar_one()
                for i in flooded} == {PRIORITY_FLOOD}
    order: list[str] = []
    dispatcher = Dispatcher(engine, ManualClock(utcnow() + timedelta(seconds=1)), {"tg_card": recorder(order)},
                            concurrency=1)
    while len(order) < len(burst) + 1:
        before = len(order)
        await dispatcher.run_once()
        if len(order) == before:
            break
    assert len(order) == len(burst) + 1  # nothing lost: every card goes out
    assert order.index(f"tg:{real}") < min(order.index(f"tg:{i}") for i in flooded)
