"""Zalo token refresh: single-use refresh tokens, one refresh at a time across workers and processes."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.sending.settings import ZaloSettings
from bot.sending.zalo_tokens import TokenError, ZaloTokens, read_tokens, seed_tokens
from tests.sending.helpers import ZALO_APP_ID
from tests.sending.helpers import platform_env as channel_env

ROOT = Path(__file__).resolve().parents[2]


def tokens_for(engine, http, zalo, owner: str) -> ZaloTokens:
    settings, _ = ZaloSettings.from_env(channel_env(zalo=zalo))
    return ZaloTokens(engine, http, settings, owner, timeout=5.0)


async def test_two_workers_on_two_engines_refresh_only_once(zalo, http, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = make_engine(url), make_engine(url)
    init_db(first)
    zalo.refresh_delay = 0.5  # widen the race window
    a, b = tokens_for(first, http, zalo, "worker-a"), tokens_for(second, http, zalo, "worker-b")
    got = await asyncio.gather(a.refresh("AT-1"), b.refresh("AT-1"))
    assert len(zalo.refresh_calls) == 1
    assert got[0] == got[1] == "AT-2"
    row = read_tokens(second, ZALO_APP_ID)
    assert (row.access_token, row.refresh_token, row.version, row.lease_owner) == ("AT-2", "RT-2", 2, None)
    assert zalo.used_refresh == {"RT-1"}


async def test_two_processes_racing_refresh_only_once(zalo, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    init_db(make_engine(url))
    zalo.expire_token()             # both processes get -216 …
    zalo.hold_expired_until(2)      # … at the same moment
    zalo.refresh_delay = 0.3
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.sending.race_worker", url, zalo.base_url, f"u{i}", f"proc-{i}",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for i in range(2)]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=60)
    results = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert results == [{"ok": True}, {"ok": True}], [err.decode()[-2000:] for _, err in outputs]
    assert len(zalo.refresh_calls) == 1, "only one process may spend the single-use refresh token"
    assert sorted(zalo.delivered) == [("u0", "Tin nhắn từ proc-0"), ("u1", "Tin nhắn từ proc-1")]
    assert {r.token for r in zalo.sends("ok")} == {"AT-2"}
    row = read_tokens(make_engine(url), ZALO_APP_ID)
    assert (row.access_token, row.refresh_token) == ("AT-2", "RT-2")


async def test_refused_refresh_releases_the_lease_and_keeps_the_pair(zalo, http, engine) -> None:
    zalo.valid_refresh.clear()  # the stored refresh token was revoked
    tokens = tokens_for(engine, http, zalo, "w1")
    with pytest.raises(TokenError):
        await tokens.refresh("AT-1")
    row = read_tokens(engine, ZALO_APP_ID)
    assert (row.access_token, row.refresh_token, row.version, row.lease_owner) == ("AT-1", "RT-1", 1, None)
    # after re-authorising, staff reseed the pair and sending works again
    assert seed_tokens(engine, ZALO_APP_ID, "AT-9", "RT-9", force=True)
    zalo.valid_access.add("AT-9")
    assert await tokens.current() == "AT-9"


async def test_oauth_server_errors_are_retried(zalo, http, engine) -> None:
    zalo.fail_http("oauth", status=502, times=1)
    tokens = tokens_for(engine, http, zalo, "w1")
    assert await tokens.refresh("AT-1") == "AT-2"
    assert [r.outcome for r in zalo.refresh_calls] == ["http:502", "ok"]


async def test_restart_uses_the_stored_pair_not_the_environment(zalo, http, engine) -> None:
    first = tokens_for(engine, http, zalo, "w1")
    await first.refresh("AT-1")
    async with aiohttp.ClientSession() as other_http:
        restarted = tokens_for(engine, other_http, zalo, "w1")  # the environment still holds AT-1 / RT-1
        assert await restarted.current() == "AT-2"
    assert seed_tokens(engine, ZALO_APP_ID, "AT-1", "RT-1") is False
    assert read_tokens(engine, ZALO_APP_ID).refresh_token == "RT-2"


async def test_workers_sharing_a_worker_id_still_refresh_only_once(zalo, http, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = make_engine(url), make_engine(url)
    init_db(first)
    zalo.refresh_delay = 0.5
    # the desk and Rasa read the same .env, so they may carry the same CHANNEL_WORKER_ID
    a, b = tokens_for(first, http, zalo, "same-id"), tokens_for(second, http, zalo, "same-id")
    await asyncio.gather(a.refresh("AT-1"), b.refresh("AT-1"))
    assert len(zalo.refresh_calls) == 1
