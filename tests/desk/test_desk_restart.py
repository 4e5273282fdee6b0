"""Nothing is lost and nothing is sent twice when the desk is killed (-9) and restarted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine, session_factory
from bot.db.schema import init_db
from bot.outbox.models import SENT, OutboxItem
from tests.desk.helpers import COUNSELORS, DeskProcess, eventually, open_case
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio


def sent_keys(engine) -> set[str]:
    """Keys of the outbox rows marked sent."""
    with session_factory(engine)() as s:
        return set(s.execute(select(OutboxItem.dedup_key).where(OutboxItem.status == SENT)).scalars())


async def test_case_written_while_desk_is_dead_gets_one_card_after_restart(tmp_path: Path,
                                                                           tg: FakeTelegram) -> None:
    desk = DeskProcess(tmp_path, tg)
    await desk.start()
    try:
        engine = make_engine(desk.db_url)
        init_db(engine)
        first = open_case(engine, sender="zalo:1")
        await tg.wait_for("sendMessage", chat_id=COUNSELORS)
        await eventually(lambda: sent_keys(engine) == {f"card:{first}"})
        desk.kill9()
        second = open_case(engine, sender="zalo:2")  # the action server keeps writing cases
        await asyncio.sleep(0.3)
        assert len(tg.sent(COUNSELORS)) == 1
        await desk.start()
        await tg.wait_for("sendMessage", 2, chat_id=COUNSELORS)
        await asyncio.sleep(1.0)  # restart scans and outbox passes: still one card per case
        texts = tg.sent_texts(COUNSELORS)
        assert len(texts) == 2
        assert sum(f"· Ca #{first}\n" in t for t in texts) == 1 and sum(f"· Ca #{second}\n" in t for t in texts) == 1
    finally:
        desk.stop()


async def test_kill_while_sending_then_restart_sends_exactly_once(tmp_path: Path, tg: FakeTelegram) -> None:
    desk = DeskProcess(tmp_path, tg)
    await desk.start()
    try:
        engine = make_engine(desk.db_url)
        init_db(engine)
        tg.stall("sendMessage")
        case_id = open_case(engine, sender="messenger:9")
        await tg.wait_for_stalled("sendMessage")
        desk.kill9()  # between the case (and its outbox row) being written and Telegram accepting the card
        with session_factory(engine)() as s:
            row = s.execute(select(OutboxItem).where(OutboxItem.dedup_key == f"card:{case_id}")).scalar_one()
            assert row.status != SENT
        tg.release()
        await eventually(lambda: tg.calls("sendMessage", outcome="abandoned"))
        assert tg.sent(COUNSELORS) == []
        await desk.start()
        await tg.wait_for("sendMessage", chat_id=COUNSELORS, timeout=15)
        await asyncio.sleep(1.0)
        assert len(tg.sent(COUNSELORS)) == 1
        with session_factory(engine)() as s:
            row = s.execute(select(OutboxItem).where(OutboxItem.dedup_key == f"card:{case_id}")).scalar_one()
            assert row.status == SENT
    finally:
        desk.stop()


async def test_telegram_down_across_restart_keeps_retrying_and_reports_it(tmp_path: Path,
                                                                          tg: FakeTelegram) -> None:
    import aiohttp

    desk = DeskProcess(tmp_path, tg)
    tg.fail("*", times=None)
    await desk.start()
    try:
        engine = make_engine(desk.db_url)
        init_db(engine)
        open_case(engine, sender="telegram:5")
        await eventually(lambda: tg.calls(outcome="failed"), timeout=10)
        async with aiohttp.ClientSession() as http:
            async def failing() -> bool:
                async with http.get(f"{desk.url}/health", headers={"Authorization": "Bearer test-api-token"}) as resp:
                    return resp.status == 503 and (await resp.json())["notifications"] == "failing"
            await eventually(failing, timeout=10)
            desk.kill9()
            await desk.start()
            await eventually(failing, timeout=10)
            tg.heal()
            await tg.wait_for("sendMessage", chat_id=COUNSELORS, timeout=15)

            async def healthy() -> bool:
                async with http.get(f"{desk.url}/health") as resp:
                    return resp.status == 200
            await eventually(healthy, timeout=10)
        await asyncio.sleep(0.5)
        assert len(tg.sent(COUNSELORS)) == 1
    finally:
        desk.stop()
