"""The channels' share of the process: one per Rasa server, built at server start over `bot.runtime`.

Engine and reloading content are the process runtime's (so a hotline edited in content/ reaches the
safety net within seconds); on top come the senders, the writer thread for the channel tables, the
HTTP session, the inbox settings and the one outbox's dispatcher for the replies (kind `bot_reply`).
Every mounted channel uses the same one; the last to stop closes it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cases.store import CaseStore
from bot.channels.settings import RuntimeSettings
from bot.channels.store import BOT_REPLY, WRITE_LOCK
from bot.channels.writer import DbWriter
from bot.config import load_dotenv
from bot.content.library import Library
from bot.content.reloading import ContentLibrary
from bot.outbox.dispatcher import Delivery, Dispatcher
from bot.runtime import process_runtime
from bot.sending.outbound import Outbound
from bot.timeutil import SystemClock

log = logging.getLogger(__name__)
REPLY_POLL_SECONDS = 1.0      # the dispatcher is woken at once when replies are stored; this is the backstop
REPLY_MAX_ATTEMPTS = 6        # outbox attempts per part, each after Outbound's own retry window
REPLY_MAX_BACKOFF = 60.0


@dataclass
class ChannelRuntime:
    """What processing needs; tests build one with fakes, `rasa run` gets the shared one."""

    engine: Engine
    outbound: Outbound
    content: ContentLibrary | Library
    settings: RuntimeSettings
    http: aiohttp.ClientSession
    owns_http: bool = False
    users: int = 0
    writer: DbWriter = field(init=False)
    cases: CaseStore = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    _delivery: asyncio.Task | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        """One writer thread for the channel tables, one outbox dispatcher for the replies; fixed content is wrapped."""
        if isinstance(self.content, Library):
            self.content = ContentLibrary.fixed(self.content)
        self.writer = DbWriter(self.engine)
        self.cases = CaseStore(self.engine)
        self.dispatcher = Dispatcher(self.engine, SystemClock(), {BOT_REPLY: self._send_reply},
                                     max_backoff=REPLY_MAX_BACKOFF, max_attempts={BOT_REPLY: REPLY_MAX_ATTEMPTS},
                                     owner=self.settings.worker_id or "channels", write_lock=WRITE_LOCK,
                                     forget_payload=frozenset({BOT_REPLY}))

    async def _send_reply(self, item: Delivery) -> None:
        """Deliver one reply part; Outbound retries within its window, the outbox after that."""
        p = item.payload
        await self.outbound.send_part(str(p["sender_id"]), str(p.get("text") or ""), buttons=p.get("buttons"),
                                      urgent=bool(p.get("urgent")))

    async def start_delivery(self) -> None:
        """Start the reply dispatcher once (every mounted channel calls this); resume this worker's leases."""
        if self._delivery is None:
            try:
                await asyncio.to_thread(self.dispatcher.release_leases)
            except SQLAlchemyError:  # the database is down: leases simply expire, replies wait for it
                log.warning("could not resume reply deliveries (database unavailable)")
            self._delivery = asyncio.create_task(self.dispatcher.run_forever(REPLY_POLL_SECONDS),
                                                 name="channel-replies")

    async def stop_delivery(self) -> None:
        """Stop the reply dispatcher; undelivered replies stay in the outbox for the next start."""
        task, self._delivery = self._delivery, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @property
    def library(self) -> Library:
        """The newest good content (the process's reloading library)."""
        return self.content.current

    async def close(self) -> None:
        """Stop delivering, then close the senders, the writer and the HTTP session if this runtime owns it."""
        await self.stop_delivery()
        await asyncio.to_thread(self.writer.close)
        await self.outbound.aclose()
        if self.owns_http:
            await self.http.close()


_shared: ChannelRuntime | None = None
_shared_lock: asyncio.Lock | None = None


async def acquire_shared_runtime() -> ChannelRuntime:
    """The channels' runtime over the process runtime (built at the first channel's server start)."""
    global _shared, _shared_lock
    if _shared_lock is None:
        _shared_lock = asyncio.Lock()
    async with _shared_lock:
        if _shared is None:
            load_dotenv()
            settings = RuntimeSettings.from_env()
            core = await asyncio.to_thread(process_runtime)
            if core.engine is None:
                raise RuntimeError("DATABASE_URL is not usable: the channels cannot keep their inbox")
            outbound = Outbound({}, core.engine, retry_window=settings.retry_window,
                                max_attempts=settings.max_attempts)
            _shared = ChannelRuntime(core.engine, outbound, core.content, settings, aiohttp.ClientSession(),
                                     owns_http=True)
        _shared.users += 1
        return _shared


async def release_shared_runtime(runtime: ChannelRuntime) -> None:
    """Drop one user of the shared runtime; the last one closes it."""
    global _shared
    runtime.users -= 1
    if runtime is _shared and runtime.users <= 0:
        _shared = None
        await runtime.close()
