"""The Rasa input channel for residents: verify → record → 200 at once → process in the background.

A platform module subclasses `ResidentChannel` with its webhook parser and its sender. A request
is refused (403/400/413) unless verified and well-formed; its events are recorded by the inbox
worker before the 200, so the platform's redelivery after a crash is never lost nor answered twice.
Every text is cut to `MAX_MESSAGE_CHARS` (beginning and end kept) before it is stored; on a channel
whose events carry a signed platform time, an event outside the replay window is acknowledged (200,
counted as skipped, so the platform stops retrying) and dropped with one log line without content.
A channel whose variables are not set mounts nothing and says so in one log line.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.collector import Handler, LiveOutputChannel
from bot.channels.inbox import InboxWorker
from bot.channels.intake import bound_text, clean, clean_data, is_fresh
from bot.channels.items import Item
from bot.channels.runtime import ChannelRuntime, acquire_shared_runtime, release_shared_runtime
from bot.config import MAX_REQUEST_BYTES, load_dotenv
from bot.sending.sender import Sender

log = logging.getLogger(__name__)

MAX_BODY = MAX_REQUEST_BYTES  # the wrappers make Sanic refuse larger bodies from their headers; this holds without them


class WebhookError(Exception):
    """A request to refuse with a 4xx status."""

    def __init__(self, status: int, message: str) -> None:
        """`message` is shown to the caller; it never contains resident text."""
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Parsed:
    """The events of one verified webhook request."""

    items: list[Item] = field(default_factory=list)
    skipped: int = 0


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header, case-insensitively."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body or raise WebhookError(400)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WebhookError(400, "invalid JSON") from None


class ResidentChannel(InputChannel):
    """A Rasa input channel for residents: verify, record, acknowledge, then process in the background."""

    settings_class: Any = None
    signed_times = False  # the platform signs a time on each event: stale ones (replays) are dropped

    def __init__(self, settings: Any, runtime: ChannelRuntime | None = None,
                 ready: Callable[[], bool] | None = None) -> None:
        """`settings` None means the channel is not configured (nothing is mounted); tests pass `runtime`."""
        self.settings = settings
        self._given_runtime = runtime
        self._ready = ready
        self.runtime: ChannelRuntime | None = None
        self.worker: InboxWorker | None = None
        self._on_new_message: Handler | None = None
        self.clock: Callable[[], float] = time.time  # epoch seconds, for the replay window (tests move it)

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ResidentChannel:
        """Settings from the environment (and `.env`); values given in credentials.yml take precedence."""
        load_dotenv()
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (credentials or {}).items() if v not in (None, "")})
        settings, missing = cls.settings_class.from_env(env)
        if settings is None:
            log.info("%s channel not mounted: %s not set", cls.name(), ", ".join(missing))
        return cls(settings)

    @property
    def mounted(self) -> bool:
        """True when the channel is configured and serves its webhook."""
        return self.settings is not None

    # -- channel-specific parts
    def parse_webhook(self, headers: Mapping[str, str], raw: bytes) -> Parsed:
        """Verify and parse a POST body (raise WebhookError to refuse)."""
        raise NotImplementedError

    def make_sender(self, runtime: ChannelRuntime) -> Sender:
        """The platform's sender, for the runtime's Outbound."""
        raise NotImplementedError

    def extra_routes(self, bp: Blueprint) -> None:
        """Add routes besides POST /webhook."""

    async def before_process(self, item: Item) -> None:
        """Hook run in the background before an event is processed."""

    # -- Rasa glue
    def blueprint(self, on_new_message: Handler) -> Blueprint:
        """The webhook routes; an unconfigured channel gets an empty blueprint (nothing mounted)."""
        bp = Blueprint(f"{self.name()}_resident_webhook", __name__)
        if not self.mounted:
            return bp
        self._on_new_message = on_new_message

        # Sanic sets attributes on handlers and listeners, so they must be plain functions.
        async def health(request: Request) -> HTTPResponse:
            """GET /webhooks/<channel>/: the channel is mounted."""
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse:
            """POST /webhooks/<channel>/webhook."""
            return await self._receive(request)

        async def before_start(app: Any, loop: Any = None) -> None:
            """Build the runtime (the process's, at server start) and the inbox worker."""
            await self.start(self._on_new_message, ready=self._ready or agent_ready(app))

        async def after_start(app: Any, loop: Any = None) -> None:
            """Resume unfinished events, start background work."""
            if self.worker is not None:
                await self.worker.start()

        async def before_stop(app: Any, loop: Any = None) -> None:
            """Stop background work."""
            await self.stop()

        bp.add_route(health, "/", methods=["GET"])
        bp.add_route(receive, "/webhook", methods=["POST"])
        self.extra_routes(bp)
        bp.listener("before_server_start")(before_start)
        bp.listener("after_server_start")(after_start)
        bp.listener("before_server_stop")(before_stop)
        return bp

    def get_output_channel(self) -> OutputChannel | None:
        """Send at once through the shared Outbound (for Rasa's HTTP API)."""
        return LiveOutputChannel(self.name(), self.runtime.outbound) if self.runtime else None

    async def start(self, on_new_message: Handler, ready: Callable[[], bool] | None = None) -> None:
        """Take the runtime, add this platform's sender, build the inbox worker (before the server starts)."""
        self.runtime = self._given_runtime or await acquire_shared_runtime()
        if self.name() not in self.runtime.outbound.senders:
            self.runtime.outbound.senders[self.name()] = self.make_sender(self.runtime)
        self.worker = InboxWorker(self.name(), self.runtime, on_new_message, before_process=self.before_process,
                                  ready=ready)

    async def stop(self) -> None:
        """Stop background work and release the runtime."""
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None
        if self.runtime is not None and self._given_runtime is None:
            await release_shared_runtime(self.runtime)
        self.runtime = None

    async def _receive(self, request: Request) -> HTTPResponse:
        raw = request.body or b""
        if len(raw) > MAX_BODY:
            return response.json({"error": "body too large"}, status=413)
        try:
            parsed = self.parse_webhook(request.headers, raw)
        except WebhookError as exc:
            return response.json({"error": exc.message}, status=exc.status)
        except Exception:
            log.warning("unparseable %s webhook body", self.name())
            return response.json({"error": "malformed payload"}, status=400)
        if self.worker is None or self.runtime is None:
            return response.json({"error": "starting"}, status=503)
        items = self._admit(parsed, self.runtime.settings.freshness_seconds)
        try:
            new, duplicates = await self.worker.accept(items)
        except Exception as exc:  # not recorded: ask the platform to redeliver
            # The error may quote the events: its type only, the traceback at debug level.
            log.error("could not accept %s events: %s", self.name(), type(exc).__name__)
            log.debug("accept failure", exc_info=True)
            return response.json({"error": "temporarily unavailable"}, status=503)
        return response.json({"status": "ok", "accepted": new, "duplicates": duplicates, "skipped": parsed.skipped})

    def _admit(self, parsed: Parsed, window: float) -> list[Item]:
        """The events to record: cleaned (storable), texts cut to the bound; stale signed events skipped and dropped."""
        now, kept, stale = self.clock(), [], 0
        for item in parsed.items:
            if self.signed_times and not is_fresh(item.sent_at, now, window):
                stale += 1
                continue
            item.key, item.sender_id = clean(item.key), clean(item.sender_id)
            item.data = clean_data(item.data)
            if item.text is not None:
                item.text = bound_text(clean(item.text))
            kept.append(item)
        if stale:
            log.warning("%s webhook: %d event(s) outside the %.1f h replay window dropped", self.name(), stale,
                        window / 3600)
            parsed.skipped += stale
        return kept


def agent_ready(app: Any) -> Callable[[], bool] | None:
    """Whether Rasa's agent has a model loaded (None outside a Rasa server, e.g. in tests)."""
    if not str(getattr(app, "name", "")).startswith("rasa"):
        return None

    def ready() -> bool:
        agent = getattr(app.ctx, "agent", None)
        return bool(agent is not None and agent.is_ready())

    return ready
