"""Fuzzing every resident webhook (Zalo, Messenger, Telegram, REST) served by the real Sanic server with fakes.

Properties: never a 5xx, never a traceback in the answer; an unsigned or mis-signed request records nothing; a
validly signed request that got a 200 has every message it counted as accepted in the inbox, and a validly
signed text message is answered on the platform (REST: in the response, with the hotline when it is urgent).

Each test shares one served stack across its examples (that is the point: one long-running server taking
hostile traffic), hence `HealthCheck.function_scoped_fixture` is suppressed; each example uses fresh message
ids so examples do not interfere. Examples are bounded (max_examples) so the file stays well under 60 s.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.cases.store import CaseStore
from bot.channels.messenger import MessengerInput
from bot.channels.models import InboxMessage
from bot.channels.rest_safe import SafeRestInput
from bot.channels.telegram import TelegramInput
from bot.channels.zalo import ZaloInput
from bot.runtime import fixed_runtime, set_process_runtime
from tests.channels.harness import (
    FB_APP_SECRET,
    TG_SECRET,
    ZALO_APP_ID,
    ZALO_OA_KEY,
    ChannelServer,
    FakeBot,
    channel_env,
    start_stack,
)
from tests.fakes.graph_api import signature as fb_signature
from tests.fakes.zalo_api import sign as zalo_sign
from tests.fuzz import (
    content_types,
    header_value,
    hostile_text,
    json_values,
    mis_encoded,
    mutate,
    no_traceback,
    odd_headers,
    raw_garbage,
    with_content_type,
)

URGENT = "chồng tôi đang đánh tôi, cứu tôi với"
SHARED = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_ids = itertools.count(1)


def inbox_count(engine: Any) -> int:
    """Rows in the inbox."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(InboxMessage)).scalar_one()


def inbox_has(engine: Any, key_part: str) -> bool:
    """True when an inbox row's key names this platform message id."""
    with engine.connect() as conn:
        return any(key_part in k for k in conn.execute(select(InboxMessage.key)).scalars())


async def post(stack: Any, raw: bytes, headers: dict[str, str], channel: str | None = None,
               query: str = "") -> tuple[int, str]:
    """POST raw bytes; (status, body text)."""
    url = stack.server.url(channel or stack.channel.name()) + query
    async with stack.http.post(url, data=raw, headers=headers) as resp:
        return resp.status, await resp.text()


def check_refused(status: int, body: str) -> None:
    """A refused request: a 4xx, never a 5xx, nothing about the server's insides."""
    assert 400 <= status < 500, (status, body[:300])
    assert no_traceback(body), body[:300]


# ---- Zalo ---------------------------------------------------------------------------------------------------

def zalo_body(user: str, text: Any, msg_id: str) -> dict[str, Any]:
    return {"app_id": ZALO_APP_ID, "user_id_by_app": f"app-{user}", "event_name": "user_send_text",
            "timestamp": str(int(time.time() * 1000)), "sender": {"id": user}, "recipient": {"id": "oa-1"},
            "message": {"msg_id": msg_id, "text": text}}


def zalo_signed(body: Any) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()  # ASCII escapes: lone surrogates travel too
    app_id = str(body.get("app_id", "")) if isinstance(body, dict) else ""
    stamp = str(body.get("timestamp", "")) if isinstance(body, dict) else ""
    return raw, {"X-ZEvent-Signature": zalo_sign(app_id, raw, stamp, ZALO_OA_KEY), "Content-Type": "application/json"}


@pytest.fixture
async def zalo_stack(zalo, http, engine, library):
    s = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http)
    yield s
    await s.stop()


ZALO_PATHS = [["event_name"], ["message"], ["message", "text"], ["message", "msg_id"], ["sender"], ["sender", "id"],
              ["timestamp"], ["message", "attachments"], ["recipient"], ["follower"], ["user_id_by_app"]]


@SHARED
@given(raw=st.one_of(raw_garbage, mis_encoded(zalo_body("u1", "xin chào", "m-x"))),
       signature=st.one_of(st.none(), header_value, st.just("mac=" + "0" * 64)),
       content_type=content_types, extra=odd_headers)
async def test_zalo_unsigned_or_garbage_is_refused(zalo_stack, engine, raw, signature, content_type, extra) -> None:
    headers = with_content_type(extra, content_type)
    if signature is not None:
        headers["X-ZEvent-Signature"] = signature
    before = inbox_count(engine)
    check_refused(*await post(zalo_stack, raw, headers))
    assert inbox_count(engine) == before and zalo_stack.bot.calls == []


@SHARED
@given(path=st.sampled_from(ZALO_PATHS), value=st.one_of(json_values, hostile_text))
@example(path=["message", "text"], value="\ud800")
@example(path=["timestamp"], value="\ud800")  # a signed body whose signed fields hold a lone surrogate
@example(path=["app_id"], value="\udfff")
async def test_zalo_signed_malformed_events_never_5xx_and_accepted_ones_are_kept(zalo_stack, engine, path,
                                                                                 value) -> None:
    msg_id = f"zf-{next(_ids)}"
    body = mutate(zalo_body(f"zu{msg_id}", "xin chào", msg_id), path, value)
    before = inbox_count(engine)
    status, text = await post(zalo_stack, *zalo_signed(body))
    assert status < 500 and no_traceback(text), (status, text[:300])
    if status == 200:
        reply = json.loads(text)
        assert inbox_count(engine) - before == reply["accepted"]


@FEW
@given(text=hostile_text)
@example(text="\ud800")  # a broken emoji half (found by this test)
@example(text=URGENT + " \ud83d")
async def test_zalo_signed_text_is_recorded_and_answered(zalo_stack, zalo, engine, text) -> None:
    msg_id, user = f"zt-{next(_ids)}", f"zt-user-{next(_ids)}"
    status, body = await post(zalo_stack, *zalo_signed(zalo_body(user, text, msg_id)))
    assert status in (200, 413), (status, body[:300])  # 413: the body is over 1 MiB (refused, Zalo shows an error)
    if status == 413:
        return
    reply = json.loads(body)
    assert reply["accepted"] + reply["skipped"] == 1, reply
    if reply["accepted"]:
        assert inbox_has(engine, msg_id)
    if reply["accepted"] and text.strip():  # a blank text is recorded and needs no answer
        texts = await zalo.wait_delivered(2 if text.startswith(URGENT) else 1, user_id=user)
        assert not text.startswith(URGENT) or any("113" in t for t in texts), texts


# ---- Messenger ----------------------------------------------------------------------------------------------

def fb_body(psid: str, text: Any, mid: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"object": "page", "entry": [{"id": "page-1", "time": now, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": "page-1"}, "timestamp": now,
         "message": {"mid": mid, "text": text}}]}]}


def fb_signed(raw: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": fb_signature(FB_APP_SECRET, raw), "Content-Type": "application/json"}


@pytest.fixture
async def fb_stack(graph, http, engine, library):
    s = await start_stack(MessengerInput, engine, library, channel_env(graph=graph), http)
    yield s
    await s.stop()


FB_PATHS = [["object"], ["entry"], ["entry", 0], ["entry", 0, "messaging"], ["entry", 0, "messaging", 0],
            ["entry", 0, "messaging", 0, "sender"], ["entry", 0, "messaging", 0, "sender", "id"],
            ["entry", 0, "messaging", 0, "message"], ["entry", 0, "messaging", 0, "message", "text"],
            ["entry", 0, "messaging", 0, "message", "mid"], ["entry", 0, "messaging", 0, "timestamp"],
            ["entry", 0, "messaging", 0, "postback"], ["entry", 0, "messaging", 0, "message", "quick_reply"],
            ["entry", 0, "messaging", 0, "message", "attachments"], ["entry", 0, "standby"]]


@SHARED
@given(raw=st.one_of(raw_garbage, mis_encoded(fb_body("p1", "xin chào", "m-x"))),
       signature=st.one_of(st.none(), header_value, st.just("sha256=" + "0" * 64)),
       content_type=content_types, extra=odd_headers)
async def test_messenger_unsigned_or_garbage_is_refused(fb_stack, engine, raw, signature, content_type,
                                                        extra) -> None:
    headers = with_content_type(extra, content_type)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    before = inbox_count(engine)
    check_refused(*await post(fb_stack, raw, headers))
    assert inbox_count(engine) == before and fb_stack.bot.calls == []


@SHARED
@given(raw=st.one_of(raw_garbage, mis_encoded(fb_body("p1", "xin chào", "m-x"))))
async def test_messenger_signed_garbage_bytes_never_5xx(fb_stack, engine, raw) -> None:
    status, text = await post(fb_stack, raw, fb_signed(raw))
    assert status < 500 and no_traceback(text), (status, text[:300])


@SHARED
@given(path=st.sampled_from(FB_PATHS), value=st.one_of(json_values, hostile_text))
@example(path=["entry", 0, "messaging", 0, "message", "text"], value="\ud800")
async def test_messenger_signed_malformed_events_never_5xx_and_accepted_ones_are_kept(fb_stack, engine, path,
                                                                                      value) -> None:
    mid = f"mf-{next(_ids)}"
    raw = json.dumps(mutate(fb_body(f"mu{mid}", "xin chào", mid), path, value)).encode()
    before = inbox_count(engine)
    status, text = await post(fb_stack, raw, fb_signed(raw))
    assert status < 500 and no_traceback(text), (status, text[:300])
    if status == 200:
        assert inbox_count(engine) - before == json.loads(text)["accepted"]


@FEW
@given(text=hostile_text)
@example(text="\ud800")
async def test_messenger_signed_text_is_recorded_and_answered(fb_stack, graph, engine, text) -> None:
    mid, psid = f"mt-{next(_ids)}", f"mt-user-{next(_ids)}"
    raw = json.dumps(fb_body(psid, text, mid)).encode()
    status, body = await post(fb_stack, raw, fb_signed(raw))
    assert status in (200, 413), (status, body[:300])
    if status == 413:
        return
    reply = json.loads(body)
    assert reply["accepted"] + reply["skipped"] == 1, reply
    if reply["accepted"]:
        assert inbox_has(engine, mid)
    if reply["accepted"] and text.strip():
        assert await graph.wait_delivered(1, psid=psid)


# ---- Telegram (residents' bot) ------------------------------------------------------------------------------

def tg_body(user: int, text: Any, update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": user, "type": "private", "first_name": "Lan"},
        "from": {"id": user, "is_bot": False, "first_name": "Lan"}}}


TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
TG_PATHS = [["update_id"], ["message"], ["message", "text"], ["message", "chat"], ["message", "chat", "id"],
            ["message", "chat", "type"], ["message", "from"], ["message", "from", "id"], ["message", "date"],
            ["message", "message_id"], ["callback_query"], ["edited_message"], ["message", "photo"],
            ["message", "entities"]]


@pytest.fixture
async def tg_stack(telegram, http, engine, library):
    s = await start_stack(TelegramInput, engine, library, channel_env(telegram=telegram), http)
    yield s
    await s.stop()


@SHARED
@given(raw=st.one_of(raw_garbage, mis_encoded(tg_body(5, "xin chào", 1))),
       secret=st.one_of(st.none(), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60)),
       content_type=content_types, extra=odd_headers)
async def test_telegram_unsigned_or_garbage_is_refused(tg_stack, engine, raw, secret, content_type, extra) -> None:
    headers = with_content_type(extra, content_type)
    if secret is not None and secret != TG_SECRET:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    before = inbox_count(engine)
    check_refused(*await post(tg_stack, raw, headers))
    assert inbox_count(engine) == before and tg_stack.bot.calls == []


@SHARED
@given(raw=st.one_of(raw_garbage, mis_encoded(tg_body(5, "xin chào", 1))), content_type=content_types)
async def test_telegram_with_the_secret_garbage_bytes_never_5xx(tg_stack, raw, content_type) -> None:
    status, text = await post(tg_stack, raw, with_content_type(TG_HEADERS, content_type))
    assert status < 500 and no_traceback(text), (status, text[:300])


@SHARED
@given(path=st.sampled_from(TG_PATHS), value=st.one_of(json_values, hostile_text))
@example(path=["message", "text"], value="\ud800")
async def test_telegram_malformed_updates_never_5xx_and_accepted_ones_are_kept(tg_stack, engine, path,
                                                                               value) -> None:
    n = next(_ids)
    raw = json.dumps(mutate(tg_body(700_000 + n, "xin chào", 900_000 + n), path, value)).encode()
    before = inbox_count(engine)
    status, text = await post(tg_stack, raw, TG_HEADERS)
    assert status < 500 and no_traceback(text), (status, text[:300])
    if status == 200:
        assert inbox_count(engine) - before == json.loads(text)["accepted"]


@FEW
@given(text=hostile_text)
@example(text="\ud800")
@example(text="/")  # found by this test: a bare slash leaves nothing to answer
@example(text=" // alo")
async def test_telegram_text_is_recorded_and_answered(tg_stack, telegram, engine, text) -> None:
    n = next(_ids)
    user = 500_000 + n
    raw = json.dumps(tg_body(user, text, 800_000 + n)).encode()
    before = inbox_count(engine)
    status, body = await post(tg_stack, raw, TG_HEADERS)
    assert status in (200, 413), (status, body[:300])
    if status == 413:
        return
    reply = json.loads(body)
    assert reply["accepted"] + reply["skipped"] == 1, reply
    if reply["accepted"]:
        assert inbox_count(engine) == before + 1
    # Leading slashes are stripped so typed text never reads as an intent; nothing left means nothing to answer.
    if reply["accepted"] and re.sub(r"^[\s/]+", "", text).strip():
        assert await telegram.wait_for("sendMessage", 1, chat_id=user)


# ---- REST ---------------------------------------------------------------------------------------------------

class RestStack:
    """The safe REST channel on a real Sanic server, with the fake assistant and the process runtime."""

    def __init__(self, server: ChannelServer, bot: FakeBot, http: Any) -> None:
        self.server, self.bot, self.http = server, bot, http
        self.channel = SafeRestInput()


@pytest.fixture
async def rest_stack(http, engine, library):
    set_process_runtime(fixed_runtime(library, CaseStore(engine)))
    bot = FakeBot()
    server = await ChannelServer([SafeRestInput()], bot).start()
    yield RestStack(server, bot, http)
    await server.stop()
    set_process_runtime(None)


@SHARED
@given(raw=st.one_of(raw_garbage, mis_encoded({"sender": "web-1", "message": "xin chào"})),
       content_type=content_types, extra=odd_headers, stream=st.sampled_from(["", "?stream=true", "?stream=x"]))
@example(raw=b"[" * 2000 + b"]" * 2000, content_type="application/json", extra={}, stream="")
async def test_rest_garbage_never_5xx(rest_stack, raw, content_type, extra, stream) -> None:
    status, text = await post(rest_stack, raw, with_content_type(extra, content_type), query=stream)
    assert status < 500 and no_traceback(text), (status, text[:300])


@SHARED
@given(body=st.one_of(json_values, st.fixed_dictionaries(
    {"sender": st.one_of(json_values, hostile_text), "message": st.one_of(json_values, hostile_text)},
    optional={"input_channel": json_values, "metadata": json_values})))
async def test_rest_wrong_types_never_5xx(rest_stack, body) -> None:
    status, text = await post(rest_stack, json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert status < 500 and no_traceback(text), (status, text[:300])


@FEW
@given(text=hostile_text, urgent=st.booleans())
@example(text="\ud800", urgent=True)
async def test_rest_text_gets_a_reply_and_urgent_gets_the_hotline(rest_stack, text, urgent) -> None:
    message = f"{URGENT} {text}" if urgent else text
    raw = json.dumps({"sender": f"fuzz-{next(_ids)}", "message": message}).encode()
    status, body = await post(rest_stack, raw, {"Content-Type": "application/json"})
    assert status in (200, 413) or (status == 400 and not message.strip()), (status, body[:300])
    if status != 200 or not message.strip():
        return
    replies = " ".join(str(m.get("text", "")) for m in json.loads(body))
    assert replies, "an accepted REST message got no reply"
    if urgent:
        assert "113" in replies
