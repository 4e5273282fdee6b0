"""Counselor commands over the process runtime: the resolve message reads the hotlines of the moment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cases.store import CaseStore
from bot.config import CONTENT_DIR
from bot.content.reloading import ContentLibrary
from bot.db.engine import session_factory
from bot.desk.commands import Actor
from bot.outbox.models import OutboxItem
from bot.runtime import Runtime
from tests.desk.helpers import open_case, start_desk

pytestmark = pytest.mark.asyncio
LAN = Actor("tg:11", "Chị Lan")


def resolved_push(engine, case_id: int) -> str:
    """The text queued for the resident when the case was resolved."""
    with session_factory(engine)() as s:
        row = s.execute(select(OutboxItem).where(OutboxItem.case_id == case_id,
                                                 OutboxItem.dedup_key.like("resolved:%:push"))).scalar_one()
    return str(json.loads(row.payload)["text"])


async def test_resolve_message_carries_the_hotline_number_staff_just_changed(engine, tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    runtime = Runtime(engine, CaseStore(engine), ContentLibrary.load(content, check_every=0))
    desk = await start_desk(engine, None, runtime=runtime)
    try:
        before = open_case(engine, sender="zalo:1")
        assert desk.commands.claim(before, LAN, "Telegram").ok and desk.commands.resolve(before, LAN, "Telegram").ok
        assert "• 115 – Cấp cứu y tế" in resolved_push(engine, before)

        hotlines = content / "hotlines.yml"
        text = hotlines.read_text(encoding="utf-8")
        assert text.count('number: "115"') == 1
        hotlines.write_text(text.replace('number: "115"', 'number: "1155"'), encoding="utf-8")

        after = open_case(engine, sender="zalo:2")
        assert desk.commands.claim(after, LAN, "Telegram").ok and desk.commands.resolve(after, LAN, "Telegram").ok
        message = resolved_push(engine, after)
        assert "• 1155 – Cấp cứu y tế" in message and "• 115 –" not in message
        assert "Trợ lý tự động sẽ tiếp tục" in message and "• 113 –" in message
    finally:
        await desk.stop()
