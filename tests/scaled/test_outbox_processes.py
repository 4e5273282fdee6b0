"""Several dispatchers on one PostgreSQL outbox, as several processes run them: every row delivered once, in lane order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.db.engine import make_engine, session_factory
from bot.outbox.dispatcher import Delivery, Dispatcher
from bot.outbox.enqueue import enqueue
from bot.outbox.models import OutboxItem
from bot.timeutil import ManualClock

LANES, PER_LANE, DISPATCHERS = 30, 8, 4


async def test_dispatchers_in_several_processes_deliver_each_row_once_in_lane_order(pg_engine, pg_url) -> None:
    clock = ManualClock()
    with session_factory(pg_engine).begin() as s:
        for n in range(PER_LANE):
            for lane in range(LANES):
                enqueue(s, key=f"r:{lane}:{n}", kind="bot_reply", lane=f"res:{lane}",
                        payload={"lane": lane, "n": n}, now=clock.now() - timedelta(seconds=1))
    delivered: list[tuple[str, int, int]] = []

    def handler(owner: str):
        async def deliver(d: Delivery) -> None:
            delivered.append((owner, d.payload["lane"], d.payload["n"]))
            await asyncio.sleep(0.002)
        return deliver

    # One engine per dispatcher: separate connection pools, as separate processes have.
    engines = [make_engine(pg_url) for _ in range(DISPATCHERS)]
    dispatchers = [Dispatcher(e, clock, {"bot_reply": handler(f"p{i}")}, owner=f"p{i}", concurrency=8)
                   for i, e in enumerate(engines)]
    tasks = [asyncio.create_task(d.run_forever(0.01)) for d in dispatchers]
    try:
        for _ in range(600):
            if len(delivered) >= LANES * PER_LANE:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # time for a second delivery, if any, to happen
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for e in engines:
            e.dispose()
    pairs = [(lane, n) for _, lane, n in delivered]
    assert len(pairs) == LANES * PER_LANE and len(set(pairs)) == LANES * PER_LANE  # none lost, none twice
    for lane in range(LANES):
        assert [n for la, n in pairs if la == lane] == list(range(PER_LANE))
    assert len({owner for owner, _, _ in delivered}) > 1  # the work was really shared
    with session_factory(pg_engine)() as s:
        assert {r.status for r in s.query(OutboxItem)} == {"sent"}
