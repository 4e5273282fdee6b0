"""The safety net: an urgent message gets the hotline reply and a case even when the assistant fails."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select

import bot.cases
from bot.cases import CaseStore, utcnow
from bot.channels.store import DeliveryFailure, recent_urgent_send_failures
from bot.channels.zalo import ZaloInput
from tests.channels.harness import (
    ZALO_APP_ID,
    ZALO_OA_KEY,
    FakeBot,
    channel_env,
    start_stack,
    wait_processed,
)
from tests.fakes.zalo_api import signed, text_event

URGENT = "chồng tôi đang đánh tôi, cứu tôi với, số của tôi 0912 345 678"
PHONE = "0912 345 678"


@pytest.fixture
def spool(tmp_path, monkeypatch):
    path = tmp_path / "spool" / "cases.jsonl"
    monkeypatch.setattr(bot.cases, "spool_path", lambda: path)
    return path


async def serve(zalo, http, engine, library, behaviour: str, **overrides):
    return await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, FakeBot(behaviour=behaviour),
                             **overrides)


@pytest.mark.parametrize("behaviour", ["raise", "hang", "silent"])
async def test_urgent_message_gets_hotline_and_one_case_when_the_assistant_fails(
        zalo, http, engine, library, spool, behaviour) -> None:
    stack = await serve(zalo, http, engine, library, behaviour, bot_timeout=0.5)
    try:
        raw, headers = signed(text_event(ZALO_APP_ID, "u1", URGENT, msg_id="urgent-1"), ZALO_OA_KEY)
        assert (await stack.post(raw, headers))[0] == 200
        (reply,) = await zalo.wait_delivered(1, user_id="u1")
        cases = CaseStore(engine).list_cases(sender_id="zalo:u1")
        assert len(cases) == 1
        case = cases[0]
        assert (case.channel, case.urgency, case.message_id, case.message) == ("zalo", "danger_now", "zalo:urgent-1",
                                                                              URGENT)
        assert "113" in reply and f"mã ca #{case.id}" in reply
        await wait_processed(engine, 1)
        assert (await stack.post(raw, headers))[1]["duplicates"] == 1
    finally:
        await stack.stop()
    assert len(CaseStore(engine).list_cases(sender_id="zalo:u1")) == 1
    assert zalo.delivered_texts("u1") == [reply]
    assert not spool.exists()


async def test_reply_without_the_numbers_gets_the_hotline_added(zalo, http, engine, library, spool) -> None:
    stack = await serve(zalo, http, engine, library, "echo")
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, "u2", URGENT), ZALO_OA_KEY))
        texts = await zalo.wait_delivered(2, user_id="u2")
    finally:
        await stack.stop()
    assert texts[0].startswith("Mình đã nhận được tin nhắn") and "113" in texts[1]
    assert len(CaseStore(engine).list_cases(sender_id="zalo:u2")) == 1


async def test_non_urgent_failure_gets_an_apology_and_no_case(zalo, http, engine, library, spool) -> None:
    stack = await serve(zalo, http, engine, library, "raise")
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, "u3", "sự kiện năm nay ở đâu?"), ZALO_OA_KEY))
        (reply,) = await zalo.wait_delivered(1, user_id="u3")
    finally:
        await stack.stop()
    assert "sự cố kỹ thuật" in reply and "113" in reply
    assert CaseStore(engine).list_cases() == []


async def test_database_down_still_answers_and_spools_the_case(zalo, http, library, spool, tmp_path) -> None:
    broken = create_engine(f"sqlite:///{tmp_path}", future=True)  # a directory: every connection fails
    stack = await serve(zalo, http, broken, library, "raise")
    try:
        status, body = await stack.post(*signed(text_event(ZALO_APP_ID, "u4", URGENT, msg_id="db-down"), ZALO_OA_KEY))
        assert (status, body["accepted"]) == (200, 1)
        (reply,) = await zalo.wait_delivered(1, user_id="u4")
        assert "113" in reply
        assert (await stack.post(*signed(text_event(ZALO_APP_ID, "u4", URGENT, msg_id="db-down"),
                                         ZALO_OA_KEY)))[1]["duplicates"] == 1
    finally:
        await stack.stop()
    (line,) = spool.read_text(encoding="utf-8").splitlines()
    spooled = json.loads(line)
    assert (spooled["sender_id"], spooled["urgency"], spooled["message_id"]) == ("zalo:u4", "danger_now", "zalo:db-down")
    assert zalo.sends("ok")[0].token == "AT-1"  # the configured token, without the token table


async def test_failed_urgent_reply_is_loud_counted_and_never_logs_the_text(
        zalo, http, engine, library, spool, caplog) -> None:
    zalo.fail_code(-230, times=None)
    caplog.set_level(logging.DEBUG)
    since = utcnow() - timedelta(seconds=1)
    stack = await serve(zalo, http, engine, library, "raise")
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, "u5", URGENT), ZALO_OA_KEY))
        await wait_processed(engine, 1)
    finally:
        await stack.stop()
    assert recent_urgent_send_failures(engine, since) >= 1
    with engine.connect() as conn:
        rows = conn.execute(select(DeliveryFailure.channel, DeliveryFailure.sender_id, DeliveryFailure.error,
                                   DeliveryFailure.urgent)).all()
    assert ("zalo", "zalo:u5", "zalo:-230", True) in [tuple(r) for r in rows]
    loud = [r for r in caplog.records if r.levelno >= logging.CRITICAL and "URGENT REPLY NOT DELIVERED" in r.message]
    assert loud
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (URGENT, "chồng tôi", PHONE, "zalo:u5"):
        assert secret not in everything


async def test_a_reply_with_paragraphs_stays_one_message(zalo, http, engine, library) -> None:
    bot = FakeBot(reply=lambda m: "Đoạn một.\n\nĐoạn hai.\n\nĐoạn ba.")
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, bot)
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, "u6", "xin chào"), ZALO_OA_KEY))
        await wait_processed(engine, 1)
    finally:
        await stack.stop()
    assert zalo.delivered_texts("u6") == ["Đoạn một.\n\nĐoạn hai.\n\nĐoạn ba."]
