"""The desk's shutdown never hangs, even on a loop that swallows a cancellation."""

from __future__ import annotations

import asyncio

from bot.desk.jobs import stop_tasks


async def test_a_loop_that_swallows_one_cancellation_is_cancelled_again() -> None:
    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:  # as a race in a library can do
            pass
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_tasks([task], seconds=10), 5)
    assert task.cancelled()
