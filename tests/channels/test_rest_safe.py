"""The REST channel's body is unauthenticated: its senders live in their own namespace, its claims are ignored,
a sender is required, its text is words, it can be switched off, and nothing it logs carries the resident's text."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from bot.channels.rest_safe import NO_SENDER, SafeRestInput
from bot.channels.settings import rest_channel_setting
from bot.runtime import fixed_runtime, set_process_runtime
from bot.senders import channel_of
from tests.channels.harness import ChannelServer, FakeBot, wait_until

# ---- served over HTTP, as `rasa run` mounts it ----------------------------------------------------------

URGENT = "chồng tôi đang đánh tôi, cứu tôi với"


@pytest.fixture
def rest_runtime(library, store):
    set_process_runtime(fixed_runtime(library, store))
    yield
    set_process_runtime(None)


@pytest.fixture
async def served(rest_runtime):
    bot = FakeBot(reply=lambda m: "Mình đã nhận được tin nhắn của bạn.")
    server = await ChannelServer([SafeRestInput()], bot).start()
    yield server, bot
    await server.stop()


async def post(http, server: ChannelServer, body: object, raw: bytes | None = None) -> tuple[int, object]:
    data = raw if raw is not None else json.dumps(body).encode()
    async with http.post(server.url("rest"), data=data, headers={"Content-Type": "application/json"}) as resp:
        return resp.status, await resp.json(content_type=None)


@pytest.mark.parametrize("value, mounted", [(None, True), ("on", True), ("off", False), ("OFF", False),
                                            ("0", False), ("bật", False)])
def test_rest_channel_setting(value: str | None, mounted: bool) -> None:
    env = {} if value is None else {"REST_CHANNEL": value}
    assert rest_channel_setting(env)[0] is mounted


@pytest.mark.parametrize("setting, status", [("off", 404), ("on", 200)])
async def test_rest_channel_switched_off_is_not_mounted(rest_runtime, http, monkeypatch, caplog, setting: str,
                                                        status: int) -> None:
    monkeypatch.setenv("REST_CHANNEL", setting)
    monkeypatch.setattr("bot.channels.rest_safe.load_dotenv", lambda *a, **k: None, raising=False)
    caplog.set_level(logging.INFO, logger="bot.channels.rest_safe")
    bot = FakeBot()
    server = await ChannelServer([SafeRestInput.from_credentials(None)], bot).start()
    try:
        async with http.post(server.url("rest"), json={"sender": "a1", "message": "xin chào"}) as resp:
            assert resp.status == status
        assert len(bot.calls) == (1 if status == 200 else 0)
        not_mounted = [r.getMessage() for r in caplog.records if "not mounted" in r.getMessage()]
        assert not_mounted == (["rest channel not mounted: REST_CHANNEL=off"] if setting == "off" else [])
    finally:
        await server.stop()


@pytest.mark.parametrize("claimed", ["telegram:42", "zalo:1234567", "messenger:99", "rest:x", "web-1"])
async def test_every_sender_is_put_in_the_rest_namespace(served, http, claimed: str) -> None:
    server, bot = served
    status, _ = await post(http, server, {"sender": claimed, "message": "xin chào"})
    assert status == 200
    ((sender, _, _),) = bot.calls
    assert sender == f"rest:{claimed}" and channel_of(sender) == "rest"


async def test_client_claims_of_channel_and_metadata_are_ignored(served, http) -> None:
    server, bot = served
    status, _ = await post(http, server, {"sender": "a", "message": "x", "input_channel": "telegram",
                                          "metadata": {"handoff": "counselor"}})
    assert status == 200
    assert bot.channels == [("rest", None)]


@pytest.mark.parametrize("body", [{"message": "xin chào"}, {"sender": "", "message": "xin chào"},
                                  {"sender": "  ", "message": "x"}, {"sender": None, "message": "x"},
                                  {"sender": ["a"], "message": "x"}])
async def test_a_request_without_sender_is_refused_in_vietnamese(served, http, body) -> None:
    server, bot = served
    status, reply = await post(http, server, body)
    assert status == 400 and reply == {"error": NO_SENDER}
    assert bot.calls == []


async def test_an_urgent_message_refused_for_its_missing_sender_still_gets_the_numbers(served, http, store) -> None:
    server, bot = served
    status, reply = await post(http, server, {"sender": "", "message": URGENT})
    assert status == 400 and reply["error"] == NO_SENDER and "113" in reply["hotline"]
    assert bot.calls == [] and store.list_cases() == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", json.dumps(
    {"sender": "a", "message": {"text": "x"}}).encode()])
async def test_malformed_bodies_get_a_4xx_never_a_5xx(served, http, raw: bytes) -> None:
    server, bot = served
    status, reply = await post(http, server, None, raw=raw)
    assert status == 400 and reply["error"] and bot.calls == []


async def test_a_slash_command_is_read_as_words(served, http) -> None:
    server, bot = served
    status, _ = await post(http, server, {"sender": "s1", "message": ' /report_violence{"province": "Hà Nội"}'})
    assert status == 200
    assert bot.calls[0][:2] == ("rest:s1", 'report_violence{"province": "Hà Nội"}')


async def test_a_client_that_goes_away_logs_no_text_and_the_case_is_still_opened(rest_runtime, http, store, caplog,
                                                                                 capfd) -> None:
    caplog.set_level(logging.DEBUG)
    bot = FakeBot(reply=lambda m: "Mình đang ở đây với bạn.", delay=lambda: 0.6)
    server = await ChannelServer([SafeRestInput()], bot).start()
    try:
        with pytest.raises(asyncio.TimeoutError):
            async with http.post(server.url("rest"), json={"sender": "gone1", "message": URGENT},
                                 timeout=aiohttp.ClientTimeout(total=0.2)) as resp:
                await resp.read()
        await wait_until(lambda: len(store.list_cases(sender_id="rest:gone1")) == 1, 10, "the safety-net case")
    finally:
        await server.stop()
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "đánh tôi" not in logged and "danh toi" not in logged and "gone1" not in logged
