"""One huge message cannot freeze the desk: the case list cuts text before masking, off the event loop."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from sqlalchemy import update

from bot.cases.models import Case
from bot.db.engine import session_factory
from tests.desk.helpers import API_TOKEN, Desk, login, open_case

pytestmark = pytest.mark.asyncio
HUGE = 200_000


def make_huge(engine, case_id: int, text: str) -> None:
    """Store a message as an older version (no length limit) would have."""
    with session_factory(engine).begin() as s:
        s.execute(update(Case).where(Case.id == case_id).values(message=text))


async def timed_get(http: aiohttp.ClientSession, url: str, **kwargs) -> tuple[int, str, float]:
    """Status, body and seconds of one GET (bounded by a 5 s timeout)."""
    started = time.monotonic()
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=5), **kwargs) as resp:
        body = await resp.text()
        return resp.status, body, time.monotonic() - started


@pytest.mark.parametrize("filler", ["a", "0"])  # worst cases of the e-mail and the phone pattern
async def test_the_case_list_answers_fast_and_health_is_not_held_up(desk: Desk, counselor: str, filler: str) -> None:
    big = open_case(desk.engine, sender="zalo:big")
    make_huge(desk.engine, big, "Gọi 0912 345 678 " + filler * HUGE)
    small = open_case(desk.engine, sender="zalo:small", message="Số của tôi là 0987 654 321, cứu tôi")
    await login(desk, counselor)
    health = aiohttp.ClientSession()
    try:
        async def poll_health() -> list[float]:
            waits = []
            for _ in range(6):
                _, _, took = await timed_get(health, f"{desk.url}/health",
                                             headers={"Authorization": f"Bearer {API_TOKEN}"})
                waits.append(took)
                await asyncio.sleep(0.05)
            return waits

        for path in ("/cases", "/cases/rows"):
            health_task = asyncio.create_task(poll_health())
            status, page, took = await timed_get(desk.http, f"{desk.url}{path}")
            waits = await health_task
            assert status == 200 and took < 2, (path, took)
            assert max(waits) < 1, (path, waits)
            assert f'data-case-id="{big}"' in page and f'data-case-id="{small}"' in page
            assert "0912" not in page and "0987" not in page  # masked, even when cut
            assert filler * 200 not in page  # the preview is short
    finally:
        await health.close()
