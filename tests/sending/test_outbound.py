"""Outbound senders against the fake platforms: shapes, splitting, retries, failures recorded."""

from __future__ import annotations

import time
import unicodedata
from datetime import timedelta

import pytest

from bot.outbox.errors import GiveUp, RetryLater
from bot.outbox.failures import recent_urgent_send_failures
from bot.sending.outbound import build_outbound
from bot.sending.splitting import MAX_CHARS, split_text
from bot.sending.zalo_tokens import read_tokens
from bot.timeutil import utcnow
from tests.sending.helpers import FB_PAGE_TOKEN, ZALO_APP_ID, fast_send_settings
from tests.sending.helpers import platform_env as channel_env

LONG_VI = " ".join(f"Câu thứ {i} nói về quyền được sống an toàn, không bị bạo lực trong gia đình." for i in range(80))


def outbound_for(http, engine, env, **overrides):
    out = build_outbound(http, engine, fast_send_settings(**overrides), env)
    out.wait_base, out.wait_max = 0.02, 0.2
    return out


# ---- splitting -------------------------------------------------------------------------------------------

def test_split_keeps_every_word_and_cuts_after_sentences() -> None:
    parts = split_text(LONG_VI)
    assert len(parts) >= 3
    assert all(0 < len(p) <= MAX_CHARS < 2000 for p in parts)
    assert all(p.endswith(".") for p in parts), "each part should end at a sentence boundary"
    assert " ".join(parts).split() == LONG_VI.split()


def test_split_prefers_paragraphs_and_handles_text_without_spaces() -> None:
    text = ("Đoạn một. " * 120).strip() + "\n\n" + ("Đoạn hai. " * 120).strip()
    parts = split_text(text)
    assert parts[0].startswith("Đoạn một") and parts[-1].endswith("Đoạn hai.")
    assert "Đoạn hai" not in parts[0]
    blob = "a" * 5000
    assert [len(p) for p in split_text(blob)] == [MAX_CHARS, MAX_CHARS, 5000 - 2 * MAX_CHARS]


def test_split_never_separates_a_letter_from_its_accent() -> None:
    decomposed = unicodedata.normalize("NFD", "ộ" * 3000)  # no spaces: forces hard cuts
    for part in split_text(decomposed):
        assert not unicodedata.combining(part[0])
        assert len(part) <= MAX_CHARS


def test_short_and_empty_text() -> None:
    assert split_text("  Xin chào  ") == ["Xin chào"]
    assert split_text("") == []


# ---- Zalo --------------------------------------------------------------------------------------------------

async def test_zalo_send_uses_token_header_and_documented_body(zalo, http, engine) -> None:
    out = outbound_for(http, engine, channel_env(zalo=zalo))
    await out.send_text("zalo:u42", "Xin chào bạn")
    assert zalo.delivered == [("u42", "Xin chào bạn")]
    sent = zalo.sends("ok")[0]
    assert sent.token == "AT-1"
    assert sent.body == {"recipient": {"user_id": "u42"}, "message": {"text": "Xin chào bạn"}}


async def test_zalo_long_text_is_split_into_sends_under_the_limit(zalo, http, engine) -> None:
    out = outbound_for(http, engine, channel_env(zalo=zalo))
    await out.send_text("zalo:u1", LONG_VI)
    texts = zalo.delivered_texts("u1")
    assert len(texts) >= 3 and all(len(t) < 2000 for t in texts)
    assert " ".join(texts).split() == LONG_VI.split()


async def test_zalo_expired_token_refreshes_once_persists_then_retries(zalo, http, engine) -> None:
    zalo.expire_token()
    seen_in_db_when_used: list[bool] = []

    def check_persisted(token, body) -> None:
        row = read_tokens(engine, ZALO_APP_ID)
        seen_in_db_when_used.append(row is not None and row.access_token == token)

    zalo.on_send = check_persisted
    out = outbound_for(http, engine, channel_env(zalo=zalo))
    await out.send_text("zalo:u1", "Tin nhắn sau khi làm mới mã")
    assert len(zalo.refresh_calls) == 1
    form = zalo.refresh_calls[0].body
    assert form == {"refresh_token": "RT-1", "app_id": ZALO_APP_ID, "grant_type": "refresh_token"}
    assert [r.outcome for r in zalo.sends()] == ["error:-216", "ok"]
    assert seen_in_db_when_used == [True], "the new token must be in the database before it is used"
    row = read_tokens(engine, ZALO_APP_ID)
    assert (row.access_token, row.refresh_token, row.version) == (zalo.sends("ok")[0].token, "RT-2", 2)
    assert row.expires_at is not None and row.expires_at > utcnow() + timedelta(hours=20)


async def test_zalo_still_expired_after_refresh_fails_without_a_second_refresh(zalo, http, engine) -> None:
    zalo.expire_token()
    zalo.accept_refreshed = False  # the platform keeps refusing even the fresh token
    out = outbound_for(http, engine, channel_env(zalo=zalo))
    with pytest.raises(GiveUp) as err:
        await out.send_text("zalo:u1", "Xin chào")
    assert err.value.reason == "zalo:-216"
    assert len(zalo.refresh_calls) == 1
    assert [r.outcome for r in zalo.sends()] == ["error:-216", "error:-216"]


async def test_zalo_rate_limit_is_retried_with_backoff(zalo, http, engine) -> None:
    zalo.fail_code(-32, times=2)
    out = outbound_for(http, engine, channel_env(zalo=zalo))
    await out.send_text("zalo:u1", "Thử lại khi bị giới hạn")
    assert [r.outcome for r in zalo.sends()] == ["error:-32", "error:-32", "ok"]
    gaps = [b.at - a.at for a, b in zip(zalo.sends(), zalo.sends()[1:])]
    assert all(g >= 0 for g in gaps)


@pytest.mark.parametrize("code", [-230, -232])
async def test_zalo_window_errors_are_recorded_not_retried(zalo, http, engine, code) -> None:
    zalo.fail_code(code, times=5)
    out = outbound_for(http, engine, channel_env(zalo=zalo))
    before = utcnow() - timedelta(seconds=1)
    with pytest.raises(GiveUp) as err:  # final: not retried
        await out.send_text("zalo:u1", "Ngoài khung thời gian", urgent=True)
    assert err.value.reason == f"zalo:{code}"
    assert len(zalo.sends()) == 1
    assert recent_urgent_send_failures(engine, before) == 1


async def test_zalo_server_errors_retried_within_the_window_then_recorded(zalo, http, engine) -> None:
    zalo.fail_http(status=503, times=None)
    out = outbound_for(http, engine, channel_env(zalo=zalo), retry_window=1.0, max_attempts=50)
    start = time.monotonic()
    with pytest.raises(RetryLater) as err:  # still temporary when the window closed
        await out.send_text("zalo:u1", "Máy chủ lỗi")
    elapsed = time.monotonic() - start
    assert err.value.reason == "http 503"
    assert len(zalo.sends()) >= 3, "5xx should be retried"
    assert elapsed < 2.0, "retries must stop within the window"
    assert recent_urgent_send_failures(engine, utcnow() - timedelta(minutes=1)) == 0  # not an urgent reply


async def test_zalo_timeout_is_retried(zalo, http, engine) -> None:
    zalo.stall(seconds=5, times=1)
    out = outbound_for(http, engine, channel_env(zalo=zalo), send_timeout=0.3)
    await out.send_text("zalo:u1", "Sau khi hết thời gian chờ")
    assert zalo.delivered_texts("u1") == ["Sau khi hết thời gian chờ"]


# ---- Messenger ---------------------------------------------------------------------------------------------

async def test_messenger_bot_reply_uses_response_type(graph, http, engine) -> None:
    out = outbound_for(http, engine, channel_env(graph=graph))
    await out.send_text("messenger:psid1", "Xin chào")
    req = graph.delivered[0]
    assert req.token == FB_PAGE_TOKEN and req.version == graph.version
    assert req.body == {"recipient": {"id": "psid1"}, "messaging_type": "RESPONSE", "message": {"text": "Xin chào"}}


async def test_messenger_counselor_reply_uses_human_agent_tag(graph, http, engine) -> None:
    out = outbound_for(http, engine, channel_env(graph=graph))
    await out.send_text("messenger:psid1", "Tư vấn viên đây", by_human=True)
    body = graph.delivered[0].body
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT"


async def test_messenger_buttons_become_quick_replies(graph, http, engine) -> None:
    out = outbound_for(http, engine, channel_env(graph=graph))
    buttons = [{"title": "Có", "payload": "/affirm"}, {"title": "Không, cảm ơn bạn nhiều lắm", "payload": "/deny"}]
    await out.send_part("messenger:p2", "Bạn có chắc không?", buttons=buttons)
    quick = graph.delivered[0].body["message"]["quick_replies"]
    assert [q["payload"] for q in quick] == ["/affirm", "/deny"]
    assert all(len(q["title"]) <= 20 for q in quick)


async def test_messenger_rate_limit_and_5xx_retried_window_error_not(graph, http, engine) -> None:
    out = outbound_for(http, engine, channel_env(graph=graph))
    graph.rate_limit(times=1)
    graph.fail_http(status=500, times=1)
    await out.send_text("messenger:p1", "Lần ba mới được")
    assert [r.outcome for r in graph.requests] == ["http:500", "graph:613", "ok"]
    graph.outside_window(times=3)
    with pytest.raises(GiveUp) as err:
        await out.send_text("messenger:p1", "Quá 24 giờ")
    assert err.value.reason == "messenger:10/2018278"
    assert len(graph.requests) == 4


async def test_messenger_wrong_page_token_is_permanent(graph, http, engine) -> None:
    env = channel_env(graph=graph) | {"FB_PAGE_ACCESS_TOKEN": "WRONG"}
    out = outbound_for(http, engine, env)
    with pytest.raises(GiveUp) as err:
        await out.send_text("messenger:p1", "Xin chào")
    assert err.value.reason == "messenger:190"
    assert len(graph.requests) == 1


# ---- Telegram ----------------------------------------------------------------------------------------------

async def test_telegram_send_with_inline_keyboard(telegram, http, engine) -> None:
    out = outbound_for(http, engine, channel_env(telegram=telegram))
    try:
        await out.send_part("telegram:555", "Bạn muốn xóa dữ liệu?",
                            buttons=[{"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}])
        msg = telegram.sent(555)[0]
        assert msg.text == "Bạn muốn xóa dữ liệu?"
        assert [b["callback_data"] for b in msg.buttons()] == ["/affirm", "/deny"]
    finally:
        await out.aclose()


async def test_telegram_rate_limit_and_server_errors_retried(telegram, http, engine) -> None:
    out = outbound_for(http, engine, channel_env(telegram=telegram), retry_window=5.0)
    try:
        telegram.rate_limit("sendMessage", retry_after=1, times=1)
        telegram.fail("sendMessage", status=502, times=1)
        start = time.monotonic()
        await out.send_text("telegram:77", "Gửi lại sau khi chờ")
        assert time.monotonic() - start >= 1.0, "retry_after must be honoured"
        outcomes = [r.outcome for r in telegram.calls("sendMessage", outcome=None)]
        assert outcomes == ["rate_limited", "failed", "ok"]
        telegram.reject("sendMessage", description="Bad Request: chat not found", times=3)
        with pytest.raises(GiveUp):
            await out.send_text("telegram:77", "Không tồn tại")
        assert len(telegram.calls("sendMessage", outcome=None)) == 4
    finally:
        await out.aclose()


# ---- configuration -----------------------------------------------------------------------------------------

async def test_unconfigured_channel_raises_and_is_recorded(http, engine) -> None:
    out = outbound_for(http, engine, {})
    since = utcnow() - timedelta(seconds=1)
    for sender in ("zalo:1", "messenger:1", "telegram:1"):
        with pytest.raises(GiveUp, match="channel not configured"):
            await out.send_text(sender, "Xin chào", urgent=True)
    with pytest.raises(GiveUp, match="unknown channel"):
        await out.send_text("rest:1", "Xin chào")
    assert recent_urgent_send_failures(engine, since) == 3
    assert recent_urgent_send_failures(engine, utcnow() + timedelta(seconds=5)) == 0
