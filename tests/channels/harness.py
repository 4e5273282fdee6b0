"""Test harness: a fake assistant, the channels served by a real Sanic server on 127.0.0.1, helpers."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sanic.response import text
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.channels.base import ResidentChannel
from bot.channels.models import InboxMessage
from bot.channels.runtime import ChannelRuntime
from bot.channels.settings import RuntimeSettings
from bot.channels.store import BOT_REPLY
from bot.content.library import Library
from bot.content.reloading import ContentLibrary
from bot.outbox.models import OutboxItem
from bot.sending.outbound import build_outbound

# The platforms' test credentials and fake-server environment are the sending tests'; re-exported for the channels.
from tests.sending.helpers import FB_APP_SECRET as FB_APP_SECRET
from tests.sending.helpers import FB_PAGE_TOKEN as FB_PAGE_TOKEN
from tests.sending.helpers import FB_VERIFY as FB_VERIFY
from tests.sending.helpers import TG_SECRET as TG_SECRET
from tests.sending.helpers import TG_TOKEN as TG_TOKEN
from tests.sending.helpers import ZALO_APP_ID as ZALO_APP_ID
from tests.sending.helpers import ZALO_APP_SECRET as ZALO_APP_SECRET
from tests.sending.helpers import ZALO_OA_KEY as ZALO_OA_KEY
from tests.sending.helpers import platform_env


def channel_env(zalo: Any = None, graph: Any = None, telegram: Any = None) -> dict[str, str]:
    """Environment variables pointing the channels at the fake servers given."""
    return platform_env(zalo, graph, telegram)


def fast_settings(**overrides: Any) -> RuntimeSettings:
    """Short timeouts and windows so failure paths finish quickly."""
    values: dict[str, Any] = {"bot_timeout": 2.0, "seen_ttl_hours": 1.0, "lease_seconds": 5.0, "concurrency": 8,
                              "worker_id": "test-worker", "retry_window": 3.0, "send_timeout": 2.0,
                              "max_attempts": 4, "sweep_interval": 0.5}
    values.update(overrides)
    return RuntimeSettings(**values)


def make_runtime(engine: Engine, library: Library | ContentLibrary, env: dict[str, str],
                 http: aiohttp.ClientSession, **overrides: Any) -> ChannelRuntime:
    """A runtime over the test database, sending to the fakes with fast retries."""
    settings = fast_settings(**overrides)
    outbound = build_outbound(http, engine, settings, env)
    outbound.wait_base, outbound.wait_max = 0.02, 0.2
    return ChannelRuntime(engine, outbound, library, settings, http)


@dataclass
class FakeBot:
    """Stands in for Rasa's `agent.handle_message`: records each turn and answers in Vietnamese."""

    behaviour: str = "echo"           # echo | raise | hang | silent
    delay: Callable[[], float] | None = None
    reply: Callable[[UserMessage], str] | None = None
    buttons: list[dict[str, str]] | None = None
    metadata: Callable[[UserMessage], dict[str, Any]] | None = None   # extra keys of the bot message (e.g. a case marker)
    calls: list[tuple[str, str, str]] = field(default_factory=list)   # (sender_id, text, message_id)
    channels: list[tuple[str | None, Any]] = field(default_factory=list)  # (input_channel, metadata) of each turn
    active: int = 0
    max_active: int = 0

    async def __call__(self, message: UserMessage) -> None:
        """Handle one message like the agent would, through its output channel."""
        self.calls.append((message.sender_id, message.text or "", message.message_id))
        self.channels.append((message.input_channel, message.metadata))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.delay is not None:
                await asyncio.sleep(self.delay())
            if self.behaviour == "raise":
                raise RuntimeError("assistant exploded")
            if self.behaviour == "hang":
                await asyncio.sleep(3600)
            if self.behaviour == "silent":
                return
            reply = self.reply(message) if self.reply else f"Mình đã nhận được tin nhắn của bạn ({len(self.calls)})."
            if self.buttons:
                await message.output_channel.send_text_with_buttons(message.sender_id, reply, self.buttons)
            else:
                extra = self.metadata(message) if self.metadata else {}
                await message.output_channel.send_response(message.sender_id, {"text": reply, **extra})
        finally:
            self.active -= 1

    def texts_of(self, sender_id: str) -> list[str]:
        """What the bot received from one sender, in order."""
        return [t for s, t, _ in self.calls if s == sender_id]


class ChannelServer:
    """Serves channels with a real Sanic server on 127.0.0.1 (the way `rasa run` mounts them)."""

    def __init__(self, channels: list[ResidentChannel], bot: Callable[[UserMessage], Any]) -> None:
        """`bot` replaces the agent's handle_message."""
        self.channels, self.bot = channels, bot
        self.port = 0
        self._server: Any = None
        self._sock: socket.socket | None = None

    async def start(self) -> ChannelServer:
        """Start serving and run the start listeners (resume included)."""
        Sanic.test_mode = True
        app = Sanic(f"channels_test_{uuid.uuid4().hex[:8]}", configure_logging=False)

        async def handler(message: UserMessage) -> None:
            await self.bot(message)

        async def root(request: Any) -> Any:  # Rasa's server always has "/" (rasa.server.add_root_route)
            return text("Hello from Rasa")

        app.add_route(root, "/", methods=["GET"])
        for channel in self.channels:  # as rasa.core.channels.channel.register, with the fake assistant
            app.blueprint(channel.blueprint(handler), url_prefix=f"/webhooks/{channel.url_prefix()}")
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._server = await app.create_server(sock=self._sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        return self

    async def stop(self) -> None:
        """Run the stop listeners and close the server."""
        if self._server is not None:
            await self._server.before_stop()
            closing = self._server.close()
            if closing is not None:
                await closing
            await self._server.after_stop()
            self._server = None

    def url(self, channel: str) -> str:
        """The webhook URL of a channel."""
        return f"http://127.0.0.1:{self.port}/webhooks/{channel}/webhook"


async def wait_until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll until `check()` is true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def inbox_statuses(engine: Engine) -> dict[str, str]:
    """Inbox key → status."""
    with engine.connect() as conn:
        return {r.key: r.status for r in conn.execute(select(InboxMessage.key, InboxMessage.status))}


def pending_replies(engine: Engine) -> int:
    """Bot replies still waiting in the outbox."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.kind == BOT_REPLY, OutboxItem.status == "pending")).scalar_one()


async def wait_processed(engine: Engine, count: int, timeout: float = 10.0) -> None:
    """Wait until `count` inbox events are done and their replies have left the outbox (sent or given up)."""
    await wait_until(lambda: list(inbox_statuses(engine).values()).count("done") >= count
                     and pending_replies(engine) == 0, timeout, f"{count} processed events")


@dataclass
class Stack:
    """One channel served over HTTP with a fake assistant."""

    server: ChannelServer
    bot: FakeBot
    runtime: ChannelRuntime
    channel: ResidentChannel
    http: aiohttp.ClientSession

    async def post(self, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        """POST a webhook body; returns (status, JSON body or text)."""
        async with self.http.post(self.server.url(self.channel.name()), data=raw, headers=headers) as resp:
            try:
                return resp.status, await resp.json(content_type=None)
            except ValueError:
                return resp.status, await resp.text()

    async def stop(self) -> None:
        """Stop the server (its stop listeners run) and close the senders."""
        await self.server.stop()
        await self.runtime.close()


async def start_stack(channel_cls: type[ResidentChannel], engine: Engine, library: Library | ContentLibrary,
                      env: dict[str, str],
                      http: aiohttp.ClientSession, bot: FakeBot | None = None, **overrides: Any) -> Stack:
    """Serve one channel configured from `env`, with a fresh runtime over `engine`."""
    runtime = make_runtime(engine, library, env, http, **overrides)
    settings, missing = channel_cls.settings_class.from_env(env)
    assert settings is not None, missing
    channel = channel_cls(settings, runtime=runtime)
    bot = bot or FakeBot()
    server = await ChannelServer([channel], bot).start()
    return Stack(server, bot, runtime, channel, http)
