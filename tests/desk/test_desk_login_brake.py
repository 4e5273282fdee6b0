"""The login brake: per client address (hard) and per account (short, soft), in the database, before argon2."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import aiohttp
import pytest
from argon2 import PasswordHasher

from bot.desk import accounts
from bot.desk.accounts import SessionManager, create_account
from bot.desk.login_limits import LoginLimits, client_address
from bot.desk.settings import settings_from_env
from bot.timeutil import ManualClock, SystemClock
from tests.desk.helpers import PASSWORD, SECRET, Desk, start_desk

pytestmark = pytest.mark.asyncio
LIMITS = LoginLimits()
WRONG = "doan-bua-123456"


class CountingHasher:
    """Wraps the real argon2 hasher: counts verify calls and the most that ran at once."""

    def __init__(self, delay: float = 0.0) -> None:
        self.real = accounts._hasher
        self.calls = 0
        self.running = 0
        self.most = 0
        self.delay = delay
        self.lock = threading.Lock()

    def verify(self, hashed: str, password: str) -> bool:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.delay:
                time.sleep(self.delay)
            return self.real.verify(hashed, password)
        finally:
            with self.lock:
                self.running -= 1

    def __getattr__(self, name: str):
        return getattr(self.real, name)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch) -> None:
    """argon2 with small parameters, so dozens of checks fit in a few seconds (the brake is what is tested)."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()


@pytest.fixture
def hasher(monkeypatch) -> CountingHasher:
    """The argon2 hasher of the accounts module, counting."""
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


def manager(engine, clock=None) -> SessionManager:
    """A session manager over the test database (what the desk builds at start)."""
    return SessionManager(engine, SECRET, clock or SystemClock())


async def form_token(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(f"{url}/login") as resp:
        return re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]


async def post_login(http: aiohttp.ClientSession, url: str, token: str, password: str, username: str = "lan",
                     headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    async with http.post(f"{url}/login", data={"username": username, "password": password, "csrf_token": token},
                         headers=headers or {}, allow_redirects=False) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


def client_from(address: str) -> aiohttp.ClientSession:
    """An HTTP client whose connections come from another loopback address (Linux routes all of 127/8)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_repeated_failures_from_one_address_get_429_and_another_address_still_logs_in(
        desk: Desk, counselor: str, hasher: CountingHasher) -> None:
    token = await form_token(desk.http, desk.url)
    for _ in range(LIMITS.address_max):
        status, page, _ = await post_login(desk.http, desk.url, token, WRONG)
        assert status == 401 and "Sai tên đăng nhập hoặc mật khẩu" in page
    calls = hasher.calls
    status, page, headers = await post_login(desk.http, desk.url, token, PASSWORD)  # even the right password
    assert status == 429 and "Bạn đã thử đăng nhập sai quá nhiều lần" in page
    assert 0 < int(headers["Retry-After"]) <= LIMITS.address_window.total_seconds()
    assert hasher.calls == calls  # refused before argon2
    # A spray across usernames from the same address is the same address.
    status, _, _ = await post_login(desk.http, desk.url, token, WRONG, username="minh")
    assert status == 429
    async with client_from("127.0.0.2") as other:
        other_token = await form_token(other, desk.url)
        status, _, headers = await post_login(other, desk.url, other_token, PASSWORD)
        assert status == 303 and headers["Location"] == "/"


async def test_forwarded_for_is_ignored_unless_the_desk_is_behind_a_trusted_proxy(engine, counselor: str) -> None:
    for trusted in (False, True):
        desk = await start_desk(engine, None, trusted_proxy=trusted)
        try:
            token = await form_token(desk.http, desk.url)
            for i in range(LIMITS.address_max + 1):  # a new "address" in the header every time
                status, _, _ = await post_login(desk.http, desk.url, token, WRONG, username=f"u{trusted:d}",
                                                headers={"X-Forwarded-For": f"10.{trusted:d}.0.{i}"})
            assert status == (401 if trusted else 429)
        finally:
            await desk.stop()


def test_client_address_takes_the_proxy_entry_and_groups_ipv6_networks() -> None:
    assert client_address("127.0.0.1", "1.2.3.4", trusted_proxy=False) == "127.0.0.1"
    # The proxy appends the address it saw; what the client wrote before it is not trusted.
    assert client_address("127.0.0.1", "6.6.6.6, 203.0.113.7", trusted_proxy=True) == "203.0.113.7"
    assert client_address("127.0.0.1", None, trusted_proxy=True) == "127.0.0.1"
    assert client_address("127.0.0.1", "garbage", trusted_proxy=True) == "127.0.0.1"
    assert client_address("2001:db8:1:2:aaaa::1", None, False) == client_address("2001:db8:1:2:bbbb::9", None, False)
    assert client_address("2001:db8:1:2::1", None, False) != client_address("2001:db8:1:3::1", None, False)
    assert client_address("::ffff:192.0.2.1", None, False) == "192.0.2.1"
    assert client_address(None, None, False) == "unknown"


async def test_the_brake_survives_a_restart_of_the_session_manager(engine, counselor: str,
                                                                   hasher: CountingHasher) -> None:
    first = manager(engine)
    for _ in range(LIMITS.address_max):
        result = await first.login("lan", WRONG, "192.0.2.10")
        assert result.account is None and result.retry_after is None
    again = manager(engine)  # the desk restarted
    result = await again.login("lan", PASSWORD, "192.0.2.10")
    assert result.account is None and result.retry_after and "quá nhiều lần" in (result.refusal or "")
    assert hasher.calls == LIMITS.address_max
    assert (await again.login("lan", PASSWORD, "192.0.2.11")).account is not None


async def test_parallel_attempts_cannot_exceed_the_limit(engine, counselor: str, hasher: CountingHasher) -> None:
    sessions = manager(engine)
    results = await asyncio.gather(*(sessions.login("lan", WRONG, "198.51.100.1") for _ in range(20)))
    assert hasher.calls == LIMITS.address_max
    assert sum(1 for r in results if r.retry_after is None) == LIMITS.address_max
    assert sum(1 for r in results if r.retry_after) == 20 - LIMITS.address_max
    assert (await sessions.login("lan", PASSWORD, "198.51.100.1")).retry_after


async def test_at_most_two_password_checks_run_at_once(engine, counselor: str, monkeypatch) -> None:
    slow = CountingHasher(delay=0.05)
    monkeypatch.setattr(accounts, "_hasher", slow)
    sessions = manager(engine)
    await asyncio.gather(*(sessions.login("lan", WRONG, f"192.0.2.{i}") for i in range(8)))
    assert slow.calls == 8 and slow.most <= LIMITS.concurrent_verifies


async def test_success_does_not_use_up_the_address_quota(engine, counselor: str) -> None:
    sessions = manager(engine)
    for _ in range(LIMITS.address_max + 3):
        assert (await sessions.login("lan", PASSWORD, "192.0.2.50")).account is not None
    assert (await sessions.login("lan", WRONG, "192.0.2.50")).retry_after is None


async def test_an_account_sprayed_from_many_addresses_is_held_briefly_for_unknown_devices_only(
        engine, counselor: str, hasher: CountingHasher) -> None:
    clock = ManualClock()
    sessions = manager(engine, clock)
    known = await sessions.login("lan", PASSWORD, "192.0.2.200")  # her usual browser gets a device cookie
    assert known.account is not None and known.device
    attackers = [f"203.0.113.{i}" for i in range(LIMITS.account_max)]
    for address in attackers:  # one guess per address: the per-address brake never fires
        assert (await sessions.login("lan", WRONG, address)).retry_after is None
    calls = hasher.calls
    fresh = await sessions.login("lan", PASSWORD, "192.0.2.201")  # a new device, right password
    assert fresh.account is None and fresh.retry_after
    assert fresh.retry_after <= LIMITS.account_window.total_seconds() and "thiết bị" in (fresh.refusal or "")
    assert (await sessions.login("lan", WRONG, "203.0.113.250")).retry_after  # the spray stops here
    assert hasher.calls == calls
    # Her known device still logs in during the spray, from any address that is not itself blocked.
    assert (await sessions.login("lan", PASSWORD, "192.0.2.202", device=known.device)).account is not None
    # Another account is not affected, and the hold is short.
    assert (await sessions.login("mai", WRONG, "192.0.2.201")).retry_after is None
    clock.advance(seconds=LIMITS.account_window.total_seconds() + 1)
    assert (await sessions.login("lan", PASSWORD, "192.0.2.201")).account is not None


async def test_a_device_cookie_is_tied_to_its_account_and_signed(engine, counselor: str) -> None:
    create_account(engine, "mai", PASSWORD, "counselor")
    sessions = manager(engine)
    device = (await sessions.login("mai", PASSWORD, "192.0.2.1")).device
    assert device and sessions.device_ok(device, "mai")
    assert not sessions.device_ok(device, "lan") and not sessions.device_ok(device + "x", "mai")
    assert not sessions.device_ok("", "mai") and not sessions.device_ok("ü" * 50, "mai")


async def test_login_sets_a_device_cookie_and_session_cookie_flags(engine, counselor: str) -> None:
    desk = await start_desk(engine, None, cookie_secure=True, public_url="https://desk.example.vn")
    try:
        async with aiohttp.ClientSession() as http:  # no cookie jar: Secure cookies are sent by hand over http
            async with http.get(f"{desk.url}/login") as resp:
                token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)  # type: ignore
                nonce = resp.cookies["desk_login"]
            assert nonce["secure"] and nonce["httponly"]
            async with http.post(f"{desk.url}/login", data={"username": "lan", "password": PASSWORD,
                                                            "csrf_token": token},
                                 headers={"Cookie": f"desk_login={nonce.value}"}, allow_redirects=False) as resp:
                assert resp.status == 303 and resp.headers["Location"] == "/"
                cookies = resp.headers.getall("Set-Cookie")
        session = next(c for c in cookies if c.startswith("desk_session="))
        device = next(c for c in cookies if c.startswith("desk_device="))
        for cookie in (session, device):
            assert "HttpOnly" in cookie and "Secure" in cookie and re.search(r"SameSite=(Lax|Strict)", cookie)
    finally:
        await desk.stop()


def test_https_public_url_makes_cookies_secure(monkeypatch) -> None:
    monkeypatch.setenv("DESK_SESSION_SECRET", SECRET)
    monkeypatch.setenv("DESK_PUBLIC_URL", "https://desk.example.vn")
    monkeypatch.delenv("DESK_TRUSTED_PROXY", raising=False)
    settings = settings_from_env()
    assert settings.cookie_secure and not settings.trusted_proxy
    monkeypatch.setenv("DESK_PUBLIC_URL", "http://127.0.0.1:8080")
    monkeypatch.setenv("DESK_TRUSTED_PROXY", "1")
    settings = settings_from_env()
    assert not settings.cookie_secure and settings.trusted_proxy


async def test_too_many_logins_waiting_for_a_check_are_told_busy_without_using_the_quota(engine,
                                                                                     counselor: str) -> None:
    crowded = SessionManager(engine, SECRET, SystemClock(), limits=LoginLimits(verify_queue=0))
    for _ in range(LIMITS.address_max + 2):
        result = await crowded.login("lan", PASSWORD, "192.0.2.77")
        assert result.account is None and result.retry_after == 5 and "bận" in (result.refusal or "")
    assert (await manager(engine).login("lan", PASSWORD, "192.0.2.77")).account is not None
