"""Zalo OA webhook: signature, events, attachments, follow, echoes, duplicates, hand-off."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy.exc import OperationalError

import bot.channels.inbox
from bot.cases.models import CLAIMED
from bot.cases.store import CaseRequest, CaseStore
from bot.channels.zalo import ZaloInput
from tests.channels.harness import (
    ZALO_APP_ID,
    ZALO_OA_KEY,
    channel_env,
    inbox_statuses,
    start_stack,
    wait_processed,
    wait_until,
)
from tests.fakes.zalo_api import attachment_event, event, sign, signed, text_event


@pytest.fixture
async def stack(zalo, http, engine, library):
    s = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http)
    yield s
    await s.stop()


async def test_text_reaches_the_assistant_and_the_reply_goes_back(stack, zalo) -> None:
    raw, headers = signed(text_event(ZALO_APP_ID, "u1", "Tháng hành động là khi nào?", msg_id="m-1"), ZALO_OA_KEY)
    status, body = await stack.post(raw, headers)
    assert (status, body) == (200, {"status": "ok", "accepted": 1, "duplicates": 0, "skipped": 0})
    assert await zalo.wait_delivered(1, user_id="u1") == ["Mình đã nhận được tin nhắn của bạn (1)."]
    assert stack.bot.calls == [("zalo:u1", "Tháng hành động là khi nào?", "zalo:m-1")]


@pytest.mark.parametrize("tamper", ["missing", "wrong", "other key", "body changed", "other app"])
async def test_bad_signatures_are_refused_with_403(stack, zalo, engine, tamper) -> None:
    body = text_event(ZALO_APP_ID, "u1", "xin chào")
    raw, headers = signed(body, ZALO_OA_KEY)
    if tamper == "missing":
        headers.pop("X-ZEvent-Signature")
    elif tamper == "wrong":
        sig = headers["X-ZEvent-Signature"]
        headers["X-ZEvent-Signature"] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    elif tamper == "other key":
        raw, headers = signed(body, "not-the-oa-key")
    elif tamper == "body changed":
        raw = raw.replace("xin chào".encode(), "tạm biệt".encode())
    elif tamper == "other app":
        raw, headers = signed(text_event("another-app", "u1", "xin chào"), ZALO_OA_KEY)
    status, _ = await stack.post(raw, headers)
    assert status == 403
    assert stack.bot.calls == [] and inbox_statuses(engine) == {}


async def test_signature_is_a_plain_sha256_of_app_body_timestamp_key(stack) -> None:
    timestamp = str(int(time.time() * 1000))  # a fixed old one would now fall outside the replay window
    body = text_event(ZALO_APP_ID, "u9", "kiểm tra chữ ký", timestamp=timestamp)
    raw = json.dumps(body).encode()
    header = sign(ZALO_APP_ID, raw, timestamp, ZALO_OA_KEY)
    status, reply = await stack.post(raw, {"X-ZEvent-Signature": header})
    assert (status, reply["accepted"]) == (200, 1)
    status, reply = await stack.post(raw, {"X-ZEvent-Signature": header[4:]})  # without the "mac=" prefix
    assert (status, reply["duplicates"]) == (200, 1)  # same msg_id: accepted as a duplicate


async def test_bad_input_gets_a_clear_4xx_never_a_500(stack, engine) -> None:
    status, body = await stack.post(b"{not json", {"X-ZEvent-Signature": "mac=00"})
    assert (status, body["error"]) == (400, "invalid JSON")
    big = text_event(ZALO_APP_ID, "u1", "x" * (1024 * 1024 + 10))
    raw, headers = signed(big, ZALO_OA_KEY)
    status, _ = await stack.post(raw, headers)
    assert status == 413
    no_name = text_event(ZALO_APP_ID, "u1", "xin chào")
    no_name.pop("event_name")
    status, body = await stack.post(*signed(no_name, ZALO_OA_KEY))
    assert (status, body["error"]) == (400, "missing event_name")
    no_id = text_event(ZALO_APP_ID, "u1", "xin chào")
    no_id["message"].pop("msg_id")
    status, _ = await stack.post(*signed(no_id, ZALO_OA_KEY))
    assert status == 400
    array = [text_event(ZALO_APP_ID, "u1", "xin chào")]
    status, _ = await stack.post(json.dumps(array).encode(), {"X-ZEvent-Signature": "mac=00"})
    assert status == 403
    assert stack.bot.calls == [] and inbox_statuses(engine) == {}


@pytest.mark.parametrize("name", ["oa_send_text", "oa_send_image", "user_received_message", "user_seen_message",
                                  "some_future_event", "anonymous_send_text"])
async def test_echoes_receipts_and_unknown_events_are_skipped(stack, zalo, name) -> None:
    body = event(ZALO_APP_ID, name, user_id="u1", message={"msg_id": f"e-{name}", "text": "xin chào"})
    status, reply = await stack.post(*signed(body, ZALO_OA_KEY))
    assert (status, reply["skipped"], reply["accepted"]) == (200, 1, 0)
    assert stack.bot.calls == [] and zalo.sends() == []


@pytest.mark.parametrize(("kind", "name"), [("image", "hình ảnh"), ("sticker", "nhãn dán"), ("gif", "ảnh động"),
                                            ("audio", "tin nhắn thoại"), ("video", "video"), ("file", "tệp"),
                                            ("link", "đường dẫn"), ("location", "vị trí")])
async def test_attachments_get_a_kind_text_only_reply_with_the_hotline(stack, zalo, kind, name) -> None:
    status, _ = await stack.post(*signed(attachment_event(ZALO_APP_ID, "u5", kind), ZALO_OA_KEY))
    assert status == 200
    (reply,) = await zalo.wait_delivered(1, user_id="u5")
    assert name in reply and "chỉ đọc được tin nhắn bằng chữ" in reply and "113" in reply
    assert stack.bot.calls == []


async def test_attachment_with_a_caption_is_read_as_text(stack, zalo) -> None:
    body = attachment_event(ZALO_APP_ID, "u6", "image", text="ảnh vết thương của tôi")
    await stack.post(*signed(body, ZALO_OA_KEY))
    await zalo.wait_delivered(1, user_id="u6")
    assert stack.bot.texts_of("zalo:u6") == ["ảnh vết thương của tôi"]


async def test_follow_gets_the_welcome_and_unfollow_nothing(stack, zalo, engine) -> None:
    await stack.post(*signed(event(ZALO_APP_ID, "follow", user_id="u7"), ZALO_OA_KEY))
    await zalo.wait_delivered(1, user_id="u7")
    assert stack.bot.texts_of("zalo:u7") == ["/greet"]
    await stack.post(*signed(event(ZALO_APP_ID, "unfollow", user_id="u7"), ZALO_OA_KEY))
    await wait_processed(engine, 2)
    assert len(zalo.delivered_texts("u7")) == 1 and stack.bot.texts_of("zalo:u7") == ["/greet"]


async def test_welcome_without_the_assistant_falls_back_to_a_built_in_greeting(stack, zalo) -> None:
    stack.bot.behaviour = "raise"
    await stack.post(*signed(event(ZALO_APP_ID, "follow", user_id="u8"), ZALO_OA_KEY))
    (reply,) = await zalo.wait_delivered(1, user_id="u8")
    assert reply.startswith("Xin chào!") and "113" in reply


async def test_redelivery_gets_no_second_reply_even_after_a_restart(zalo, http, engine, library) -> None:
    env = channel_env(zalo=zalo)
    raw, headers = signed(text_event(ZALO_APP_ID, "u1", "xin chào", msg_id="dup-1"), ZALO_OA_KEY)
    first = await start_stack(ZaloInput, engine, library, env, http)
    try:
        assert (await first.post(raw, headers))[1]["accepted"] == 1
        assert (await first.post(raw, headers))[1]["duplicates"] == 1
        await zalo.wait_delivered(1)
        await wait_processed(engine, 1)
    finally:
        await first.stop()
    second = await start_stack(ZaloInput, engine, library, env, http)
    try:
        status, body = await second.post(raw, headers)
        assert (status, body["accepted"], body["duplicates"]) == (200, 0, 1)
        await wait_until(lambda: not second.channel.worker._active, what="idle inbox worker")
    finally:
        await second.stop()
    assert len(first.bot.calls) == 1 and second.bot.calls == []
    assert zalo.delivered_texts("u1") == ["Mình đã nhận được tin nhắn của bạn (1)."]


async def test_claimed_conversation_goes_to_the_counselor_not_the_bot(stack, zalo, engine) -> None:
    store = CaseStore(engine)
    case, _ = store.open_case(CaseRequest("zalo", "zalo:u3", "needs_support", "cần giúp", ("test",)))
    with store.Session.begin() as s:
        s.get(type(case), case.id).status = CLAIMED
    await stack.post(*signed(text_event(ZALO_APP_ID, "u3", "chị ơi em sợ lắm"), ZALO_OA_KEY))
    await stack.post(*signed(attachment_event(ZALO_APP_ID, "u3", "image"), ZALO_OA_KEY))
    await wait_processed(engine, 2)
    assert stack.bot.calls == [] and zalo.sends() == []
    details = [e.detail for e in store.events(case.id) if e.kind == "resident_message"]
    assert details == ["chị ơi em sợ lắm", "[Người dân gửi hình ảnh]"]


async def test_a_forward_that_cannot_be_stored_is_retried_not_dropped(zalo, http, engine, library,
                                                                      monkeypatch) -> None:
    store = CaseStore(engine)
    case, _ = store.open_case(CaseRequest("zalo", "zalo:u4", "needs_support", "cần giúp", ("test",)))
    with store.Session.begin() as s:
        s.get(type(case), case.id).status = CLAIMED
    real, failures = bot.channels.inbox.forward_resident_message, []

    def flaky(engine_, case_id, text):
        if len(failures) < 4:  # more than one step's retries: the event must survive
            failures.append(1)
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        real(engine_, case_id, text)

    monkeypatch.setattr(bot.channels.inbox, "forward_resident_message", flaky)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, sweep_interval=0.2)
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, "u4", "em cần gặp chị"), ZALO_OA_KEY))
        await wait_processed(engine, 1, timeout=20)
    finally:
        await stack.stop()
    details = [e.detail for e in store.events(case.id) if e.kind == "resident_message"]
    assert details == ["em cần gặp chị"] and stack.bot.calls == [] and zalo.sends() == []
