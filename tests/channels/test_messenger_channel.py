"""Messenger webhook: verification handshake, X-Hub-Signature-256, every entry and event, payloads."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.channels.messenger import MessengerInput
from tests.channels.harness import (
    FB_APP_SECRET,
    FB_VERIFY,
    channel_env,
    inbox_statuses,
    start_stack,
    wait_processed,
)
from tests.fakes.graph_api import (
    attachment_event,
    echo_event,
    payload,
    postback_event,
    quick_reply_event,
    read_event,
    signed,
    text_event,
)


@pytest.fixture
async def stack(graph, http, engine, library):
    s = await start_stack(MessengerInput, engine, library, channel_env(graph=graph), http)
    yield s
    await s.stop()


async def verify(stack, **params) -> tuple[int, str]:
    async with stack.http.get(stack.server.url("messenger"), params=params) as resp:
        return resp.status, await resp.text()


async def test_verification_handshake(stack) -> None:
    assert await verify(stack, **{"hub.mode": "subscribe", "hub.verify_token": FB_VERIFY,
                                  "hub.challenge": "1158201444"}) == (200, "1158201444")
    assert (await verify(stack, **{"hub.mode": "subscribe", "hub.verify_token": "wrong",
                                   "hub.challenge": "1"}))[0] == 403
    assert (await verify(stack, **{"hub.mode": "unsubscribe", "hub.verify_token": FB_VERIFY,
                                   "hub.challenge": "1"}))[0] == 403
    assert (await verify(stack))[0] == 403


async def test_text_reaches_the_assistant_and_the_reply_goes_back(stack, graph) -> None:
    status, body = await stack.post(*signed(payload([text_event("psid1", "Xin chào", mid="m.1")]), FB_APP_SECRET))
    assert (status, body["accepted"]) == (200, 1)
    assert await graph.wait_delivered(1, psid="psid1") == ["Mình đã nhận được tin nhắn của bạn (1)."]
    assert graph.delivered[0].body["messaging_type"] == "RESPONSE"
    assert stack.bot.calls == [("messenger:psid1", "Xin chào", "messenger:m.1")]


@pytest.mark.parametrize("tamper", ["missing", "wrong", "legacy sha1 only", "other secret", "body changed"])
async def test_bad_signatures_are_refused_with_403(stack, engine, tamper) -> None:
    raw, headers = signed(payload([text_event("psid1", "Xin chào")]), FB_APP_SECRET)
    if tamper == "missing":
        headers.pop("X-Hub-Signature-256")
    elif tamper == "wrong":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    elif tamper == "legacy sha1 only":
        headers.pop("X-Hub-Signature-256")
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(FB_APP_SECRET.encode(), raw, hashlib.sha1).hexdigest()
    elif tamper == "other secret":
        raw, headers = signed(payload([text_event("psid1", "Xin chào")]), "other-secret")
    elif tamper == "body changed":
        raw = raw.replace(b"psid1", b"psid2")
    status, _ = await stack.post(raw, headers)
    assert status == 403
    assert stack.bot.calls == [] and inbox_statuses(engine) == {}


async def test_every_entry_and_event_standby_and_changes_skipped(stack, graph, engine) -> None:
    body = payload(
        [text_event("a", "một", mid="a1"), read_event("a"), text_event("b", "hai", mid="b1")],
        {"id": "page-1", "time": 1, "standby": [text_event("c", "standby", mid="c1")]},
        {"id": "page-1", "time": 2, "changes": [{"field": "feed", "value": {}}]},
        [echo_event("a", "tin của trang"), text_event("a", "ba", mid="a2")],
    )
    status, reply = await stack.post(*signed(body, FB_APP_SECRET))
    assert (status, reply["accepted"], reply["skipped"]) == (200, 3, 4)
    await graph.wait_delivered(3)
    await wait_processed(engine, 3)
    assert stack.bot.texts_of("messenger:a") == ["một", "ba"]
    assert stack.bot.texts_of("messenger:b") == ["hai"]
    assert stack.bot.texts_of("messenger:c") == [] and stack.bot.texts_of("messenger:page-1") == []


async def test_postbacks_and_quick_replies_map_to_payloads(stack, graph) -> None:
    body = payload([postback_event("p1", "GET_STARTED"), postback_event("p2", "HOTLINE", title="Số điện thoại"),
                    quick_reply_event("p3", "Có", "/affirm"), postback_event("p4", "/ask_events", title="Sự kiện")])
    await stack.post(*signed(body, FB_APP_SECRET))
    await graph.wait_delivered(4)
    assert stack.bot.texts_of("messenger:p1") == ["/greet"]
    assert stack.bot.texts_of("messenger:p2") == ["/ask_hotline"]
    assert stack.bot.texts_of("messenger:p3") == ["/affirm"]
    assert stack.bot.texts_of("messenger:p4") == ["/ask_events"]


@pytest.mark.parametrize(("kind", "name"), [("image", "hình ảnh"), ("audio", "tin nhắn thoại"), ("video", "video"),
                                            ("file", "tệp"), ("location", "vị trí"), ("fallback", "đường dẫn")])
async def test_attachments_answered_like_zalo(stack, graph, kind, name) -> None:
    await stack.post(*signed(payload([attachment_event("p9", kind)]), FB_APP_SECRET))
    (reply,) = await graph.wait_delivered(1, psid="p9")
    assert name in reply and "113" in reply
    assert stack.bot.calls == []


async def test_bad_input_gets_a_4xx_or_a_graceful_skip(stack, engine) -> None:
    raw = b"{oops"
    status, _ = await stack.post(raw, {"X-Hub-Signature-256": "sha256=" + hmac.new(
        FB_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()})
    assert status == 400
    status, _ = await stack.post(*signed({"object": "page"}, FB_APP_SECRET))
    assert status == 400
    status, body = await stack.post(*signed({"object": "instagram", "entry": []}, FB_APP_SECRET))
    assert (status, body["skipped"]) == (200, 1)
    weird = payload([{"sender": {}, "message": {"text": "không có người gửi"}}, {"sender": {"id": "x"}},
                     "not an event", {"sender": {"id": "y"}, "message": {"text": "không có mid"}}])
    status, body = await stack.post(*signed(weird, FB_APP_SECRET))
    assert (status, body["accepted"], body["skipped"]) == (200, 0, 4)
    big = json.dumps(payload([text_event("z", "x" * (1024 * 1024))])).encode()
    status, _ = await stack.post(big, {"X-Hub-Signature-256": "sha256=00"})
    assert status == 413
    assert stack.bot.calls == [] and inbox_statuses(engine) == {}


async def test_redelivered_mid_is_answered_once(stack, graph, engine) -> None:
    raw, headers = signed(payload([text_event("d1", "lặp lại", mid="m.dup")]), FB_APP_SECRET)
    await stack.post(raw, headers)
    await stack.post(raw, headers)
    await graph.wait_delivered(1)
    await wait_processed(engine, 1)
    status, body = await stack.post(raw, headers)
    assert (status, body["duplicates"]) == (200, 1)
    assert len(stack.bot.calls) == 1 and len(graph.delivered) == 1
