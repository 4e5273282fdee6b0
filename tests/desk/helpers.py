"""Helpers of the desk tests: fakes of the channels and Rasa client, and a desk served in-process."""

from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.cases.store import CaseRequest, CaseStore
from bot.clients.telegram import make_bot
from bot.config import CONTENT_DIR
from bot.content.library import Library
from bot.desk import keys
from bot.desk.app import create_app
from bot.desk.settings import DeskSettings
from bot.outbox.errors import DeliveryError, RetryLater
from bot.runtime import Runtime, fixed_runtime
from bot.timeutil import ManualClock, SystemClock, utcnow
from scripts.local_servers import free_port
from tests.fakes.telegram_api import FakeTelegram

COUNSELORS = -1001
SUPERVISORS = -2002
API_TOKEN = "test-api-token"
SECRET = "test-session-secret-0123456789"
PASSWORD = "mat-khau-rat-dai-2026"


def open_case(engine: Engine, sender: str = "rest-user-1", urgency: str = "danger_now",
              message: str = "Chồng tôi đang đánh tôi, gọi 0912 345 678 hoặc lan@example.com") -> int:
    """Open a case the way the action server does; returns its id."""
    channel = sender.split(":", 1)[0] if ":" in sender else "rest"
    case, created = CaseStore(engine).open_case(CaseRequest(channel=channel, sender_id=sender, urgency=urgency,
                                                            message=message, reasons=("từ khoá nguy hiểm",),
                                                            province="Hà Nội"))
    assert created
    return int(case.id)


@functools.lru_cache(maxsize=1)
def content_library() -> Library:
    """The repository's content, loaded once for all desk tests."""
    return Library.load(CONTENT_DIR)


def desk_runtime(engine: Engine) -> Runtime:
    """A runtime over the repository's content (fixed) and the test database."""
    return fixed_runtime(content_library(), CaseStore(engine))


@dataclass
class FakeOutbound:
    """Records what the desk asks the channels to send; raises the channels' errors on demand."""

    sent: list[tuple[str, str, bool]] = field(default_factory=list)
    failures: int = 0
    error: DeliveryError = field(default_factory=lambda: RetryLater("fake:down"))

    async def send_text(self, sender_id: str, text: str, *, by_human: bool = False) -> None:
        """Record a message, or raise `error` while failures remain."""
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.sent.append((sender_id, text, by_human))


@dataclass
class RecordingRasa:
    """Records events appended to Rasa conversations (in-process desk tests)."""

    calls: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    async def append_events(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Record the events."""
        self.calls.append((sender_id, events))

    def kinds(self, sender_id: str) -> list[str]:
        """Event names appended to a conversation, in order."""
        return [e["event"] for sid, evs in self.calls if sid == sender_id for e in evs]

    def texts(self, sender_id: str) -> list[str]:
        """Texts of bot events appended to a conversation."""
        return [e["text"] for sid, evs in self.calls if sid == sender_id for e in evs if e["event"] == "bot"]


def desk_settings(tg: FakeTelegram | None, **overrides: Any) -> DeskSettings:
    """Settings pointing at the fake Telegram, with fast background loops."""
    values: dict[str, Any] = {
        "public_url": "http://127.0.0.1:8080", "session_secret": SECRET,
        "telegram_token": tg.token if tg else None, "telegram_api_base_url": tg.api_root if tg else "",
        "counselor_chat_id": str(COUNSELORS) if tg else None, "supervisor_chat_id": str(SUPERVISORS) if tg else None,
        "supervisor_mention": "@giamsat_tuvan", "update_mode": "polling", "poll_timeout": 1.0,
        "outbox_interval": 0.05, "escalation_interval": 0.05, "rest_watch_interval": 0.1,
        "max_backoff": 0.2, "rasa_url": None}
    values.update(overrides)
    return DeskSettings(**values)


@dataclass
class Desk:
    """A desk application served on a loopback port, with its fakes."""

    app: web.Application
    runner: web.AppRunner
    url: str
    engine: Engine
    tg: FakeTelegram | None
    outbound: FakeOutbound
    rasa: RecordingRasa
    clock: Any
    http: aiohttp.ClientSession

    @property
    def commands(self) -> Any:
        """The counselor commands (claim, resolve, reply, note)."""
        return self.app[keys.COMMANDS]

    @property
    def dispatcher(self) -> Any:
        """The outbox dispatcher."""
        return self.app[keys.DISPATCHER]

    @property
    def telegram(self) -> Any:
        """The Telegram updates handler."""
        return self.app[keys.TELEGRAM]

    async def stop(self) -> None:
        """Stop serving (runs the app's cleanup)."""
        await self.runner.cleanup()
        await self.http.close()


async def start_desk(engine: Engine, tg: FakeTelegram | None, *, clock: Any = None, port: int = 0,
                     runtime: Runtime | None = None, **overrides: Any) -> Desk:
    """Create and serve a desk with a real python-telegram-bot Bot aimed at the fake server."""
    settings = desk_settings(tg, **overrides)
    bot = None
    if tg is not None and settings.telegram_token:
        bot = make_bot(settings.telegram_token, settings.bot_api_url, poll_timeout=settings.poll_timeout)
    outbound, rasa = FakeOutbound(), RecordingRasa()
    clock = clock or SystemClock()
    app = create_app(runtime or desk_runtime(engine), API_TOKEN, settings=settings, clock=clock, telegram_bot=bot,
                     outbound=outbound, rasa=rasa)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    return Desk(app, runner, f"http://127.0.0.1:{bound}", engine, tg, outbound, rasa, clock, http)


async def login(desk: Desk, username: str, password: str = PASSWORD,
                http: aiohttp.ClientSession | None = None) -> str:
    """Log in through the form; returns the CSRF token of the session."""
    http = http or desk.http
    async with http.get(f"{desk.url}/login") as resp:
        page = await resp.text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    async with http.post(f"{desk.url}/login", data={"username": username, "password": password,
                                                    "csrf_token": token, "next": "/cases"},
                         allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    async with http.get(f"{desk.url}/cases") as resp:
        page = await resp.text()
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]


async def eventually(check: Any, timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll a sync or async predicate until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def manual_clock() -> ManualClock:
    """A desk clock that moves only when told, starting a second ahead of the wall clock.

    Other processes stamp the rows they queue with their own clock (`CaseStore.open_case` queues the
    card): in production those rows are due for the desk at once, so they must be here too.
    """
    return ManualClock(utcnow() + timedelta(seconds=1))


def minutes(n: float) -> timedelta:
    """A timedelta of n minutes."""
    return timedelta(minutes=n)


ROOT = Path(__file__).resolve().parents[2]


class DeskProcess:
    """The real desk (`python -m bot.desk`) in a subprocess, so tests can kill -9 it."""

    def __init__(self, tmp: Path, tg: FakeTelegram | None, rasa_url: str | None = None,
                 rasa_token: str = "rasa-test-token", **extra: str) -> None:
        """Configure the process from the environment, as in production."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = f"sqlite:///{tmp / 'app.db'}"
        self.log_path = tmp / "desk.log"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": self.db_url,
                    "APP_VAR_DIR": str(tmp / "var"), "TRACKER_SQLITE_PATH": str(tmp / "tracker.db"),
                    "TRACKER_DATABASE_URL": "", "DESK_HOST": "127.0.0.1", "DESK_PORT": str(self.port),
                    "DESK_PUBLIC_URL": self.url, "DESK_API_TOKEN": API_TOKEN, "DESK_SESSION_SECRET": SECRET,
                    "TELEGRAM_BOT_TOKEN": tg.token if tg else "",
                    "TELEGRAM_API_BASE_URL": tg.api_root if tg else "",
                    "TELEGRAM_COUNSELOR_CHAT_ID": str(COUNSELORS) if tg else "",
                    "TELEGRAM_SUPERVISOR_CHAT_ID": str(SUPERVISORS) if tg else "",
                    "TELEGRAM_SUPERVISOR_MENTION": "@giamsat_tuvan", "TELEGRAM_UPDATE_MODE": "polling",
                    "TELEGRAM_POLL_TIMEOUT": "1", "TELEGRAM_WEBHOOK_SECRET": "",
                    "RASA_URL": rasa_url or "http://127.0.0.1:9", "RASA_AUTH_TOKEN": rasa_token,
                    "DESK_OUTBOX_INTERVAL": "0.1", "DESK_OUTBOX_MAX_BACKOFF": "1",
                    "DESK_REST_WATCH_INTERVAL": "0.2", "DESK_ESCALATION_INTERVAL": "1",
                    "PYTHONWARNINGS": "ignore", **extra}
        self.proc: subprocess.Popen | None = None

    def spawn(self) -> None:
        """Start the process (its output goes to desk.log)."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.desk"], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)

    async def start(self, timeout: float = 30.0) -> None:
        """Start the desk and wait until /health answers."""
        self.spawn()
        assert self.proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as http:
            while loop.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"desk exited: {self.log_path.read_text()[-2000:]}")
                try:
                    async with http.get(f"{self.url}/health") as resp:
                        await resp.read()
                        return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        raise AssertionError("desk did not start")

    def kill9(self) -> None:
        """SIGKILL: no cleanup, no flush, like a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Terminate politely (end of test)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log(self) -> str:
        """What the desk wrote to its log."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
