"""Signed webhooks have a replay window shorter than the dedup retention: a captured request replayed late is dropped.

A stale request gets a 200 (so the platform stops retrying) with nothing recorded or processed, and one
log line without content. Telegram has no signed time: its secret token is what keeps replays out.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels import store
from bot.channels.messenger import MessengerInput
from bot.channels.settings import RuntimeSettings
from bot.channels.zalo import ZaloInput
from bot.timeutil import utcnow
from tests.channels.harness import (
    FB_APP_SECRET,
    ZALO_APP_ID,
    ZALO_OA_KEY,
    channel_env,
    inbox_statuses,
    start_stack,
    wait_processed,
)
from tests.fakes import graph_api, zalo_api

SECRET_WORDS = "chồng tôi đang đánh tôi"
DAY_MS = 24 * 3600 * 1000


@given(st.floats(min_value=0, max_value=1e5), st.floats(min_value=0, max_value=1e5))
def test_the_window_is_at_most_half_the_dedup_retention(age: float, ttl: float) -> None:
    s = RuntimeSettings(max_event_age_hours=age, seen_ttl_hours=ttl)
    assert 0 <= 2 * s.freshness_seconds <= ttl * 3600 + 1e-6


def test_defaults_cover_the_platforms_retries_and_stay_under_the_retention() -> None:
    s = RuntimeSettings.from_env({})
    assert s.freshness_seconds == 48 * 3600 and 2 * s.freshness_seconds <= s.seen_ttl_hours * 3600
    assert RuntimeSettings.from_env({"CHANNEL_MAX_EVENT_AGE_HOURS": "6"}).freshness_seconds == 6 * 3600


def assert_quiet_drop(caplog, channel: str) -> None:
    lines = [r.getMessage() for r in caplog.records if "replay window" in r.getMessage()]
    assert lines == [f"{channel} webhook: 1 event(s) outside the 0.5 h replay window dropped"]  # harness: ttl 1 h
    assert SECRET_WORDS not in caplog.text and "old1" not in caplog.text


@pytest.mark.parametrize("age_ms", [-3 * DAY_MS, 3 * DAY_MS])  # far in the past, or in the future
async def test_zalo_stale_request_is_acknowledged_and_dropped(zalo, http, engine, library, caplog, age_ms) -> None:
    caplog.set_level(logging.INFO)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http)
    try:
        ts = str(int(time.time() * 1000) + age_ms)
        raw, headers = zalo_api.signed(zalo_api.text_event(ZALO_APP_ID, "old1", SECRET_WORDS, timestamp=ts),
                                       ZALO_OA_KEY)
        status, body = await stack.post(raw, headers)
        assert (status, body["accepted"], body["skipped"]) == (200, 0, 1)
        assert inbox_statuses(engine) == {} and stack.bot.calls == []
        assert_quiet_drop(caplog, "zalo")
    finally:
        await stack.stop()


async def test_messenger_stale_entry_is_dropped_fresh_one_kept(graph, http, engine, library, caplog) -> None:
    caplog.set_level(logging.INFO)
    stack = await start_stack(MessengerInput, engine, library, channel_env(graph=graph), http)
    try:
        body = graph_api.payload([graph_api.text_event("old1", SECRET_WORDS, mid="stale-1")],
                                 [graph_api.text_event("new1", "xin chào", mid="fresh-1")])
        body["entry"][0]["time"] = int(time.time() * 1000) - 3 * DAY_MS
        status, reply = await stack.post(*graph_api.signed(body, FB_APP_SECRET))
        assert (status, reply["accepted"], reply["skipped"]) == (200, 1, 1)
        await wait_processed(engine, 1)
        assert stack.bot.texts_of("messenger:new1") == ["xin chào"] and stack.bot.texts_of("messenger:old1") == []
        assert_quiet_drop(caplog, "messenger")
    finally:
        await stack.stop()


async def test_messenger_entry_without_a_time_is_not_trusted(graph, http, engine, library) -> None:
    stack = await start_stack(MessengerInput, engine, library, channel_env(graph=graph), http)
    try:
        event = graph_api.text_event("old1", SECRET_WORDS, mid="timeless-1")
        event.pop("timestamp")
        body = {"object": "page", "entry": [{"id": "page-1", "messaging": [event]}]}
        status, reply = await stack.post(*graph_api.signed(body, FB_APP_SECRET))
        assert (status, reply["accepted"], reply["skipped"]) == (200, 0, 1)
    finally:
        await stack.stop()


async def test_a_replay_after_the_dedup_row_expired_is_not_processed_again(zalo, http, engine, library) -> None:
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http)
    try:
        sent = time.time()
        raw, headers = zalo_api.signed(zalo_api.text_event(ZALO_APP_ID, "u5", "xin chào", msg_id="once",
                                                           timestamp=str(int(sent * 1000))), ZALO_OA_KEY)
        assert (await stack.post(raw, headers))[1]["accepted"] == 1
        await wait_processed(engine, 1)
        ttl = timedelta(hours=stack.runtime.settings.seen_ttl_hours)
        assert store.purge_expired(engine, now=utcnow() + ttl + timedelta(minutes=1)) == 1  # the row is gone
        stack.channel.clock = lambda: sent + ttl.total_seconds() + 60  # the attacker replays it later
        status, body = await stack.post(raw, headers)
        assert (status, body["accepted"]) == (200, 0)
        assert stack.bot.texts_of("zalo:u5") == ["xin chào"]
    finally:
        await stack.stop()
