"""The safety net: an urgent message gets the hotline reply and a case even when the assistant fails."""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select

import bot.cases.spool
from bot.cases.store import CaseRequest, CaseStore
from bot.channels import runtime as channel_runtime
from bot.channels.zalo import ZaloInput
from bot.config import CONTENT_DIR
from bot.content.faq import load_topic
from bot.content.reloading import ContentLibrary
from bot.outbox.failures import recent_urgent_send_failures
from bot.outbox.models import DeliveryFailure
from bot.replies import case_marker
from bot.runtime import Runtime, set_process_runtime
from bot.timeutil import utcnow
from tests.channels.harness import (
    ZALO_APP_ID,
    ZALO_OA_KEY,
    ChannelServer,
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
    monkeypatch.setattr(bot.cases.spool, "spool_path", lambda: path)
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


async def test_urgent_message_answered_by_an_faq_with_113_still_gets_one_case(zalo, http, engine, library,
                                                                               spool) -> None:
    faq = load_topic(CONTENT_DIR / "faq" / "where_to_report.yml").answer
    assert "113" in faq  # the answer has the number, yet nobody opened a case
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, FakeBot(reply=lambda m: faq))
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, "u7", URGENT, msg_id="faq-1"), ZALO_OA_KEY))
        texts = await zalo.wait_delivered(2, user_id="u7")
        await wait_processed(engine, 1)
    finally:
        await stack.stop()
    (case,) = CaseStore(engine).list_cases(sender_id="zalo:u7")
    assert (case.message_id, case.urgency) == ("zalo:faq-1", "danger_now")
    assert texts[0] == faq and f"mã ca #{case.id}" in texts[1]


async def test_urgent_reply_carrying_the_case_marker_gets_no_second_case_nor_reply(zalo, http, engine, library,
                                                                                   spool) -> None:
    store = CaseStore(engine)

    def the_action(message):  # what action_handle_urgent does: the case first, then the marked reply
        case, _ = store.open_case(CaseRequest("zalo", message.sender_id, "danger_now", message.text, ("kêu cứu",),
                                              message_id=message.message_id))
        return case_marker(case.id)

    bot = FakeBot(reply=lambda m: "Mình rất lo cho sự an toàn của bạn (mã ca).", metadata=the_action)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, bot)
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, "u8", URGENT, msg_id="marked-1"), ZALO_OA_KEY))
        await wait_processed(engine, 1)
    finally:
        await stack.stop()
    assert len(store.list_cases(sender_id="zalo:u8")) == 1
    assert zalo.delivered_texts("u8") == ["Mình rất lo cho sự an toàn của bạn (mã ca)."]  # the marker is no text


async def test_safety_net_gives_the_hotline_number_staff_just_edited(zalo, http, engine, spool, tmp_path,
                                                                     monkeypatch) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    library = ContentLibrary.load(content, check_every=0.0)
    set_process_runtime(Runtime(engine, CaseStore(engine), library))  # the Rasa process's one runtime
    env = channel_env(zalo=zalo) | {"CHANNEL_WORKER_ID": "reload-worker", "CHANNEL_BOT_TIMEOUT_SECONDS": "1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(channel_runtime, "load_dotenv", lambda path=None: None)
    server = await ChannelServer([ZaloInput(ZaloInput.settings_class.from_env(env)[0])], FakeBot("raise")).start()
    try:
        await post_to(http, server, "r1", "reload-1")
        (before,) = await zalo.wait_delivered(1, user_id="r1")
        hotlines = content / "hotlines.yml"
        hotlines.write_text(hotlines.read_text(encoding="utf-8").replace("1900969680", "0299111222"),
                            encoding="utf-8")
        stamp = os.stat(hotlines).st_mtime + 5
        os.utime(hotlines, (stamp, stamp))
        await post_to(http, server, "r2", "reload-2")
        (after,) = await zalo.wait_delivered(1, user_id="r2")
    finally:
        await server.stop()
        set_process_runtime(None)
    assert "1900969680" in before and "0299111222" not in before  # the national line (no province named)
    assert "0299111222" in after and "1900969680" not in after


async def post_to(http, server: ChannelServer, user: str, msg_id: str) -> None:
    raw, headers = signed(text_event(ZALO_APP_ID, user, URGENT, msg_id=msg_id), ZALO_OA_KEY)
    async with http.post(server.url("zalo"), data=raw, headers=headers) as resp:
        assert resp.status == 200
