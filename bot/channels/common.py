"""What the three resident channels share: the durable inbox, ordered background processing, the safety net.

A webhook request is verified, its events are written to the `channel_inbox` table (the unique
key is the platform's message id, so a redelivery is recognised, also after a restart), and the
platform gets its 200 at once. One task per sender then processes that sender's events in arrival
order: counselor hand-off check, the Rasa turn (with a timeout), the safety net for urgent
messages, then the replies, written to `channel_outbox` before they are sent so that a crash
mid-send neither loses nor repeats them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cases import CaseStore
from bot.channels import store
from bot.channels.outbound import Outbound, SendError, sender_ref, split_text
from bot.channels.settings import RuntimeSettings
from bot.channels.store import ANSWERED, Item
from bot.channels.writer import DbWriter
from bot.content.library import Library
from bot.replies import hotline_block
from bot.safety import HOTLINE_MARK, safety_reply
from bot.triage import assess

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_ATTEMPTS = 5            # an event that crashed processing this often is answered without the bot
READY_WAIT = 120.0          # seconds to wait for Rasa's model at start before processing anyway
PURGE_EVERY = 3600.0

TEXT, ATTACHMENT, WELCOME, UNFOLLOW, NOOP = "text", "attachment", "welcome", "unfollow", "noop"
DELETE_REQUEST_TEXT = "xóa dữ liệu của tôi"
GREET_PAYLOAD = "/greet"

# How each attachment kind is named to the resident.
ATTACHMENT_NAMES = {
    "image": "hình ảnh", "sticker": "nhãn dán (sticker)", "gif": "ảnh động (GIF)", "audio": "tin nhắn thoại",
    "voice": "tin nhắn thoại", "video": "video", "file": "tệp", "link": "đường dẫn", "location": "vị trí",
    "contact": "danh thiếp", "other": "tệp đính kèm",
}

WELCOME_FALLBACK = ("Xin chào! Mình là trợ lý tự động của Hội Liên hiệp Phụ nữ trong Tháng hành động vì bình đẳng "
                    "giới. Bạn cứ nhắn câu hỏi bằng chữ cho mình nhé. Nếu bạn hoặc ai đó đang gặp nguy hiểm, hãy "
                    "gọi ngay 113.")


def attachment_reply(kind: str, library: Library) -> str:
    """The kind reply to a photo, sticker, voice message…: text only, plus the numbers to call."""
    name = ATTACHMENT_NAMES.get(kind, ATTACHMENT_NAMES["other"])
    return (f"Cảm ơn bạn đã gửi {name}. Hiện mình chỉ đọc được tin nhắn bằng chữ, bạn nhắn cho mình điều bạn "
            "muốn nói bằng chữ nhé.\n\nNếu bạn hoặc ai đó đang gặp nguy hiểm, hãy gọi ngay:\n"
            + hotline_block(library, None))


def apology_reply(library: Library) -> str:
    """When the assistant cannot answer a (non-urgent) message."""
    return ("Xin lỗi, mình đang gặp sự cố kỹ thuật nên chưa trả lời được. Bạn vui lòng nhắn lại sau ít phút nhé."
            "\n\nNếu bạn hoặc ai đó đang gặp nguy hiểm, hãy gọi ngay:\n" + hotline_block(library, None))


def forwarded_note(item: Item) -> str:
    """What a counselor sees on the case for an event that is not text."""
    if item.kind == ATTACHMENT:
        return f"[Người dân gửi {ATTACHMENT_NAMES.get(item.data.get('attachment', 'other'), 'tệp đính kèm')}]"
    return item.text or ""


# ---- Rasa output: collect the turn's replies --------------------------------------------------------------

class ReplyCollector(CollectingOutputChannel):
    """Collects the bot's replies of one turn without splitting them (the channel splits under the limit)."""

    def __init__(self, channel: str) -> None:
        """`channel` is returned by name() so channel-specific responses work."""
        super().__init__()
        self._channel = channel

    def name(self) -> str:  # type: ignore[override]
        """The input channel's name."""
        return self._channel

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Keep the text whole (Rasa's collector splits at blank lines; Zalo caps messages per 48 h)."""
        await self._persist_message(self._message(recipient_id, text=text.strip()))

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Keep text, buttons and quick replies together in one collected message."""
        buttons = message.get("quick_replies") or message.get("buttons")
        text = message.get("text") or ""
        if buttons:
            await self.send_text_with_buttons(recipient_id, text, buttons)
        elif text:
            await self.send_text_message(recipient_id, text)
        if message.get("image"):
            await self.send_image_url(recipient_id, message["image"])
        if message.get("attachment"):
            await self.send_attachment(recipient_id, message["attachment"])
        if message.get("custom"):
            await self.send_custom_json(recipient_id, message["custom"])

    def parts(self) -> list[tuple[str, list[dict[str, str]] | None]]:
        """The collected replies as (text under the limit, buttons on the last part)."""
        out: list[tuple[str, list[dict[str, str]] | None]] = []
        for m in self.messages:
            text = (m.get("text") or "").strip()
            for extra in (m.get("image"), m.get("attachment")):
                if isinstance(extra, str) and extra:
                    text = f"{text}\n{extra}".strip()
            buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                       for b in m.get("buttons") or [] if isinstance(b, dict) and b.get("title")]
            chunks = split_text(text) or ([""] if buttons else [])
            for i, chunk in enumerate(chunks):
                last = i == len(chunks) - 1
                out.append((chunk or "…", buttons if last and buttons else None))
        return out


class LiveOutputChannel(OutputChannel):
    """Sends at once through Outbound (used when Rasa's HTTP API asks for this channel's output)."""

    def __init__(self, channel: str, outbound: Outbound) -> None:
        """Bound to a channel name and the shared Outbound."""
        self._channel, self.outbound = channel, outbound

    def name(self) -> str:  # type: ignore[override]
        """The input channel's name."""
        return self._channel

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text to a prefixed sender id."""
        await self.outbound.send_text(recipient_id, text)


# ---- runtime: engine, senders, content ---------------------------------------------------------------------

@dataclass
class Runtime:
    """What processing needs; tests build one with fakes, `rasa run` gets the shared one."""

    engine: Engine
    outbound: Outbound
    library: Library
    settings: RuntimeSettings
    http: aiohttp.ClientSession | None = None
    users: int = 0
    writer: DbWriter = field(init=False)

    def __post_init__(self) -> None:
        """One writer thread for the channel tables (started on first use)."""
        self.writer = DbWriter(self.engine)

    async def close(self) -> None:
        """Close the senders, the writer and the HTTP session this runtime owns."""
        await asyncio.to_thread(self.writer.close)
        await self.outbound.aclose()
        if self.http is not None:
            await self.http.close()


_shared: Runtime | None = None
_shared_lock: asyncio.Lock | None = None


async def acquire_shared_runtime() -> Runtime:
    """The process-wide runtime, built on first use from the environment and `.env`."""
    global _shared, _shared_lock
    if _shared_lock is None:
        _shared_lock = asyncio.Lock()
    async with _shared_lock:
        if _shared is None:
            from bot.channels.outbound import build_outbound
            from bot.config import CONTENT_DIR, load_dotenv
            from bot.db import init_db, make_engine

            load_dotenv()
            settings = RuntimeSettings.from_env()
            engine = make_engine()
            try:
                await asyncio.to_thread(init_db, engine)
            except SQLAlchemyError:
                log.exception("channel database unavailable at start; messages are processed without the inbox")
            library = await asyncio.to_thread(Library.load, CONTENT_DIR)
            http = aiohttp.ClientSession()
            _shared = Runtime(engine, build_outbound(http, engine, settings), library, settings, http)
        _shared.users += 1
        return _shared


async def release_shared_runtime(runtime: Runtime) -> None:
    """Drop one user of the shared runtime; the last one closes it."""
    global _shared
    runtime.users -= 1
    if runtime is _shared and runtime.users <= 0:
        _shared = None
        await runtime.close()


# ---- the dispatcher: ordered, exactly-once processing ---------------------------------------------------------

Handler = Callable[[UserMessage], Awaitable[Any]]


@dataclass
class Turn:
    """What one event produced."""

    parts: list[tuple[str, list[dict[str, str]] | None]] = field(default_factory=list)
    urgent: bool = False
    outcome: str = "bot"


class Dispatcher:
    """Stores events, then processes each sender's events one at a time in arrival order."""

    def __init__(self, channel: str, runtime: Runtime, on_new_message: Handler, *,
                 before_process: Callable[[Item], Awaitable[None]] | None = None,
                 ready: Callable[[], bool] | None = None) -> None:
        """`on_new_message` runs the bot; `before_process` is the channel's hook (e.g. answer a button press)."""
        self.channel, self.rt, self.on_new_message = channel, runtime, on_new_message
        self.before_process, self.ready = before_process, ready
        s = runtime.settings
        self.lease = timedelta(seconds=s.lease_seconds)
        self.ttl = timedelta(hours=s.seen_ttl_hours)
        self._sem = asyncio.Semaphore(s.concurrency)
        self._active: dict[str, asyncio.Task] = {}
        self._dirty: set[str] = set()
        self._memory: dict[str, list[Item]] = {}     # events accepted while the database was down
        self._memory_seen: dict[str, float] = {}
        self._open = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self.processed = 0

    # -- lifecycle
    async def start(self) -> None:
        """Resume unfinished events and start the heartbeat and sweeper."""
        self._tasks.append(asyncio.create_task(self._open_when_ready(), name=f"{self.channel}-ready"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name=f"{self.channel}-heartbeat"))
        self._tasks.append(asyncio.create_task(self._sweeper(), name=f"{self.channel}-sweeper"))

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking work; let running turns finish for `grace` seconds, then cancel them."""
        grace = self.rt.settings.stop_grace if grace is None else grace
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        active = list(self._active.values())
        if active:
            _, pending = await asyncio.wait(active, timeout=max(grace, 0.001))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _open_when_ready(self) -> None:
        deadline = time.monotonic() + READY_WAIT
        while self.ready is not None and not self.ready() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        self._open.set()

    async def _heartbeat(self) -> None:
        every = max(self.lease.total_seconds() / 3, 0.2)
        while True:
            await asyncio.sleep(every)
            try:
                await self.rt.writer.run(store.renew_leases, self.rt.settings.worker_id, self.lease)
            except SQLAlchemyError:
                log.warning("could not renew inbox leases (database unavailable)")
            except Exception:
                log.exception("inbox lease renewal failed")

    async def _sweeper(self) -> None:
        last_purge = 0.0
        while True:
            try:
                for sender in await asyncio.to_thread(store.senders_to_resume, self.rt.engine, self.channel,
                                                      self.rt.settings.worker_id):
                    self.wake(sender)
                if time.monotonic() - last_purge > PURGE_EVERY:
                    last_purge = time.monotonic()
                    await self.rt.writer.run(store.purge_expired)
            except SQLAlchemyError:
                log.warning("inbox sweep failed (database unavailable)")
            except Exception:
                log.exception("inbox sweep failed")
            await asyncio.sleep(self.rt.settings.sweep_interval)

    # -- accepting
    async def accept(self, items: list[Item]) -> tuple[int, int]:
        """Record events durably (or in memory if the database is down); returns (new, duplicates)."""
        if not items:
            return 0, 0
        try:
            fresh = await self.rt.writer.insert(items, self.ttl)
        except SQLAlchemyError:
            log.error("inbox unavailable: processing %d event(s) without durable storage", len(items))
            fresh = self._accept_in_memory(items)
        for sender in dict.fromkeys(i.sender_id for i in fresh):
            self.wake(sender)
        return len(fresh), len(items) - len(fresh)

    def _accept_in_memory(self, items: list[Item]) -> list[Item]:
        now = time.monotonic()
        ttl = self.ttl.total_seconds()
        for key in [k for k, at in self._memory_seen.items() if now - at > ttl]:
            del self._memory_seen[key]
        fresh = []
        for item in items:
            if item.key in self._memory_seen:
                continue
            self._memory_seen[item.key] = now
            self._memory.setdefault(item.sender_id, []).append(item)
            fresh.append(item)
        return fresh

    # -- processing
    def wake(self, sender_id: str) -> None:
        """Make sure the sender's events get processed."""
        if self._stopping:
            return
        if sender_id in self._active:
            self._dirty.add(sender_id)
            return
        self._active[sender_id] = asyncio.create_task(self._drain(sender_id), name=f"{self.channel}-sender")

    async def _drain(self, sender_id: str) -> None:
        try:
            await self._open.wait()
            while not self._stopping:
                self._dirty.discard(sender_id)
                item = self._next_memory(sender_id)
                if item is None:
                    try:
                        item = await self.rt.writer.run(store.claim_next, sender_id, self.rt.settings.worker_id,
                                                        self.lease)
                    except SQLAlchemyError:
                        log.warning("inbox unavailable while claiming; will retry")
                        item = None
                if item is None:
                    if sender_id in self._dirty:
                        continue
                    break
                if item.attempts > MAX_ATTEMPTS + 3 and item.row_id is not None:
                    log.error("giving up on an event that failed %d times (channel=%s sender_ref=%s)",
                              item.attempts, self.channel, sender_ref(sender_id))
                    await self._db(store.finish, item.row_id, "gave_up")
                    continue
                async with self._sem:
                    await self.process(item)
        except asyncio.CancelledError:
            raise
        except Exception:  # one sender's failure must not stop the others
            log.exception("processing failed for channel=%s sender_ref=%s", self.channel, sender_ref(sender_id))
            await asyncio.sleep(1.0)
        finally:
            self._active.pop(sender_id, None)

    def _next_memory(self, sender_id: str) -> Item | None:
        queue = self._memory.get(sender_id)
        if not queue:
            return None
        item = queue.pop(0)
        if not queue:
            del self._memory[sender_id]
        return item

    async def process(self, item: Item) -> None:
        """Handle one event completely: hand-off, bot turn or safety net, replies."""
        if item.status != ANSWERED:
            turn = await self._turn(item)
            if turn is None:
                return
            if item.row_id is None:  # accepted in memory while the database was down
                await self._send_direct(item, turn)
                return
            try:
                await self._db(store.store_replies, item, turn.parts, turn.urgent, turn.outcome,
                               required=True)
            except StoreUnavailable:
                # The replies cannot be made durable; sending them now beats waiting for the database.
                await self._send_direct(item, turn)
                await self._db(store.finish, item.row_id, turn.outcome)
                return
        await self._deliver(item)
        await self._db(store.finish, item.row_id)
        self.processed += 1

    async def _turn(self, item: Item) -> Turn | None:
        """Decide the replies; None when the event is finished without any (hand-off, unfollow…)."""
        if self.before_process is not None:
            try:
                await self.before_process(item)
            except Exception:
                log.warning("channel pre-processing failed for channel=%s", self.channel)
        if item.kind in (UNFOLLOW, NOOP) or (item.kind == TEXT and not (item.text or "").strip()):
            await self._finish(item, item.kind)
            return None
        if item.kind in (TEXT, ATTACHMENT):
            case_id = await self._owner(item.sender_id)
            if case_id is not None:
                from bot.handoff import forward_resident_message

                # Required: if it cannot be recorded, the event stays unfinished and is retried later.
                await self._db(forward_resident_message, case_id, forwarded_note(item), required=True)
                await self._finish(item, "handed_off")
                return None
        if item.kind == ATTACHMENT:
            return Turn([(p, None) for p in split_text(attachment_reply(item.data.get("attachment", "other"),
                                                                        self.rt.library))], False, "attachment")
        if item.kind == WELCOME:
            parts = (await self._run_bot(item, GREET_PAYLOAD))[0] if item.attempts <= MAX_ATTEMPTS else []
            return Turn(parts or [(WELCOME_FALLBACK, None)], False, "welcome")
        text = item.text or ""
        result = assess(text)
        if item.attempts > MAX_ATTEMPTS:
            log.error("event failed %d times; answering without the bot (channel=%s)", item.attempts, self.channel)
            parts, failed = [], "gave up"
        else:
            parts, failed = await self._run_bot(item, text)
        if result.urgent and not any(HOTLINE_MARK in part for part, _ in parts):
            # Rasa failed, timed out, stayed silent or answered without the numbers: add the hotline reply.
            return Turn(parts + await self._safety_net(item, text, result), True, "safety_net")
        if failed and not parts:
            return Turn([(p, None) for p in split_text(apology_reply(self.rt.library))], False, "apology")
        return Turn(parts, result.urgent, "bot" if parts else "no_reply")

    async def _owner(self, sender_id: str) -> int | None:
        from bot.handoff import human_owner

        try:
            return await asyncio.to_thread(human_owner, self.rt.engine, sender_id)
        except SQLAlchemyError:
            log.warning("hand-off state unavailable; the bot answers (channel=%s)", self.channel)
            return None

    async def _run_bot(self, item: Item, text: str) -> tuple[list[tuple[str, list[dict[str, str]] | None]], str]:
        """Run one Rasa turn with a timeout; returns (reply parts, failure reason or "")."""
        if self.ready is not None and not self.ready():
            return [], "not ready"
        collector = ReplyCollector(self.channel)
        message = UserMessage(text, collector, item.sender_id, input_channel=self.channel, message_id=item.key,
                              metadata=item.data.get("metadata"))
        try:
            await asyncio.wait_for(self.on_new_message(message), timeout=self.rt.settings.bot_timeout)
        except asyncio.TimeoutError:
            log.error("assistant timed out after %.0f s (channel=%s)", self.rt.settings.bot_timeout, self.channel)
            return collector.parts(), "timeout"
        except Exception as exc:  # any failure of the assistant falls back to the safety net
            log.error("assistant failed (channel=%s): %s", self.channel, type(exc).__name__)
            log.debug("assistant failure", exc_info=True)
            return collector.parts(), type(exc).__name__
        return collector.parts(), ""

    async def _safety_net(self, item: Item, text: str, result: Any) -> list[tuple[str, list[dict[str, str]] | None]]:
        """The hotline reply and a case, without Rasa or the action server."""
        reply = await asyncio.to_thread(safety_reply, self.rt.library, CaseStore(self.rt.engine), item.sender_id,
                                        text, result, item.key, item.channel)
        return [(p, None) for p in split_text(reply)]

    async def _deliver(self, item: Item) -> None:
        """Send the event's unsent reply parts in order, recording each outcome."""
        for part in await self._db(store.pending_parts, item.row_id, required=True, write=False):
            try:
                await self.rt.outbound.send_part(part.sender_id, part.text, buttons=part.buttons, urgent=part.urgent)
                status, error = store.SENT, None
            except SendError as exc:
                status, error = store.FAILED, exc.reason
            await self._db(store.mark_part, part.id, status, error)

    async def _send_direct(self, item: Item, turn: Turn) -> None:
        for text, buttons in turn.parts:
            try:
                await self.rt.outbound.send_part(item.sender_id, text, buttons=buttons, urgent=turn.urgent)
            except SendError:
                pass  # logged and counted by Outbound
        self.processed += 1

    async def _finish(self, item: Item, outcome: str) -> None:
        if item.row_id is not None:
            await self._db(store.finish, item.row_id, outcome)
        self.processed += 1

    async def _db(self, fn: Callable[..., Any], *args: Any, required: bool = False, write: bool = True) -> Any:
        """Run `fn(engine, *args)` (writes on the writer thread) with a few retries.

        On failure: log, then raise StoreUnavailable (required) or return None.
        """
        for attempt in range(3):
            try:
                if write:
                    return await self.rt.writer.run(fn, *args)
                return await asyncio.to_thread(fn, self.rt.engine, *args)
            except SQLAlchemyError:
                log.warning("database step %s failed (attempt %d)", getattr(fn, "__name__", "?"), attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1) + random.random() * 0.1)
        if required:
            raise StoreUnavailable(getattr(fn, "__name__", "?"))
        return None


class StoreUnavailable(Exception):
    """The channel tables could not be reached."""


# ---- the Rasa input channel base ------------------------------------------------------------------------------

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
    except (UnicodeDecodeError, ValueError):
        raise WebhookError(400, "invalid JSON") from None


class ResidentChannel(InputChannel):
    """A Rasa input channel for residents: verify, record, acknowledge, then process in the background."""

    settings_class: Any = None

    def __init__(self, settings: Any, runtime: Runtime | None = None, ready: Callable[[], bool] | None = None) -> None:
        """`settings` None means the channel is not configured (nothing is mounted); tests pass `runtime`."""
        self.settings = settings
        self._given_runtime = runtime
        self._ready = ready
        self.runtime: Runtime | None = None
        self.dispatcher: Dispatcher | None = None
        self._on_new_message: Handler | None = None

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ResidentChannel:
        """Settings from the environment (and `.env`); values given in credentials.yml take precedence."""
        from bot.config import load_dotenv

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
            """Build the runtime and the dispatcher."""
            await self.start(self._on_new_message, ready=self._ready or _agent_ready(app))

        async def after_start(app: Any, loop: Any = None) -> None:
            """Resume unfinished events, start background work."""
            if self.dispatcher is not None:
                await self.dispatcher.start()

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
        """Build the runtime and the dispatcher (the server calls this before it starts)."""
        self.runtime = self._given_runtime or await acquire_shared_runtime()
        self.dispatcher = Dispatcher(self.name(), self.runtime, on_new_message, before_process=self.before_process,
                                     ready=ready)

    async def stop(self) -> None:
        """Stop background work and release the runtime."""
        if self.dispatcher is not None:
            await self.dispatcher.stop()
            self.dispatcher = None
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
        if self.dispatcher is None:
            return response.json({"error": "starting"}, status=503)
        try:
            new, duplicates = await self.dispatcher.accept(parsed.items)
        except Exception:  # not recorded: ask the platform to redeliver
            log.exception("could not accept %s events", self.name())
            return response.json({"error": "temporarily unavailable"}, status=503)
        return response.json({"status": "ok", "accepted": new, "duplicates": duplicates, "skipped": parsed.skipped})


def _agent_ready(app: Any) -> Callable[[], bool] | None:
    """Whether Rasa's agent has a model loaded (None outside a Rasa server, e.g. in tests)."""
    if not str(getattr(app, "name", "")).startswith("rasa"):
        return None

    def ready() -> bool:
        agent = getattr(app.ctx, "agent", None)
        return bool(agent is not None and agent.is_ready())

    return ready
