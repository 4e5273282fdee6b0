"""Counselor commands over the process runtime: the resolve message reads the hotlines of the moment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cases.models import CLAIMED, OPEN, RESOLVED
from bot.cases.store import CaseStore
from bot.config import CONTENT_DIR
from bot.content.reloading import ContentLibrary
from bot.db.engine import session_factory
from bot.desk.accounts import ROLES, create_account, has_role
from bot.desk.commands import Actor
from bot.outbox.models import OutboxItem
from bot.runtime import Runtime
from tests.desk.helpers import PASSWORD, open_case, start_desk

pytestmark = pytest.mark.asyncio
LAN = Actor("tg:11", "Chị Lan")
MAI = Actor("tg:12", "Chị Mai")


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


def resolved_event(engine, case_id: int):
    """The `resolved` event of a case, or None."""
    return next((e for e in CaseStore(engine).events(case_id) if e.kind == "resolved"), None)


async def test_only_the_claimant_or_a_supervisor_resolves_a_claimed_case(engine) -> None:
    create_account(engine, "hoa", PASSWORD, "supervisor", "Chị Hoa")
    create_account(engine, "tuan", PASSWORD, "supervisor", "Anh Tuấn", telegram_user_id=13)
    desk = await start_desk(engine, None)
    try:
        first, second = open_case(engine, sender="zalo:1"), open_case(engine, sender="zalo:2")
        for case_id in (first, second):
            assert desk.commands.claim(case_id, LAN, "Telegram").ok
        refused = desk.commands.resolve(first, MAI, "Telegram")
        assert not refused.ok and "chỉ người nhận ca hoặc giám sát" in refused.message
        assert CaseStore(engine).get(first).status == CLAIMED and resolved_event(engine, first) is None
        # A supervisor closes it, from the console or from Telegram (matched to the account by Telegram id).
        assert desk.commands.resolve(first, Actor("desk:hoa", "Chị Hoa"), "bảng điều khiển").ok
        assert CaseStore(engine).get(first).status == RESOLVED
        assert desk.commands.resolve(second, Actor("tg:13", "Tuấn"), "Telegram", "đã chuyển công an xã").ok
        assert "đã chuyển công an xã" in resolved_event(engine, second).detail
        # The claimant herself always may.
        third = open_case(engine, sender="zalo:3")
        assert desk.commands.claim(third, LAN, "Telegram").ok and desk.commands.resolve(third, LAN, "Telegram").ok
    finally:
        await desk.stop()


async def test_an_unclaimed_danger_case_is_closed_only_with_a_reason_which_is_recorded(engine) -> None:
    desk = await start_desk(engine, None)
    try:
        danger = open_case(engine, sender="zalo:7", urgency="danger_now")
        for reason in (None, "", "   ", "ok"):
            refused = desk.commands.resolve(danger, MAI, "Telegram", reason)
            assert not refused.ok and "Nhận ca" in refused.message and "lý do" in refused.message
        assert CaseStore(engine).get(danger).status == OPEN and resolved_event(engine, danger) is None
        done = desk.commands.resolve(danger, MAI, "bảng điều khiển", "Trùng với ca trước, đã gọi lại")
        assert done.ok and CaseStore(engine).get(danger).status == RESOLVED
        event = resolved_event(engine, danger)
        assert event.actor == MAI.label and "Lý do: Trùng với ca trước, đã gọi lại" in event.detail
        support = open_case(engine, sender="zalo:8", urgency="needs_support")
        assert desk.commands.resolve(support, MAI, "Telegram").ok  # no danger: no reason needed
        assert not desk.commands.resolve(open_case(engine, sender="zalo:9"), MAI, "x", "y" * 600).ok
    finally:
        await desk.stop()


def test_supervisor_is_a_role_accounts_can_have() -> None:
    assert "supervisor" in ROLES and {"counselor", "staff"} <= set(ROLES)
    assert has_role("supervisor", "counselor") and has_role("counselor", "counselor")
    assert not has_role("counselor", "supervisor") and not has_role("staff", "counselor")
    assert not has_role("supervisor", "staff")
