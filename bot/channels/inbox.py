"""The inbox worker: ordered, exactly-once processing of the events a channel accepted.

Events are recorded in `channel_inbox` before the platform gets its 200 (the unique key is the
platform's message id, so a redelivery is recognised, also after a restart). One task per sender
then claims that sender's events in arrival order under a lease (renewed by a heartbeat; a sweeper
resumes what a dead worker left), runs `decide_turn`, and queues the replies in the one outbox in
the same transaction that finishes the event; the runtime's outbox dispatcher sends them in order
per resident, so a crash mid-send neither loses nor repeats a reply.

While the database is down, events are acknowledged and kept in memory. One the rules find urgent is
answered at once (the hotline numbers cannot wait); the others wait up to `HOLD_SECONDS` for the
database, then are answered directly. Replies to a stored event that cannot be queued wait the same way
(an urgent one is sent at once). As soon as a write succeeds again, the events still waiting move into the
inbox ahead of anything newer (and are processed as usual, in order), and those already answered are
recorded as done with their replies as sent, so a redelivery is recognised and nothing is answered twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.cases.handoff import forward_resident_message, human_owner
from bot.channels import store
from bot.channels.collector import Handler, run_assistant
from bot.channels.items import TEXT, BotReply, Item, Part
from bot.channels.memory import OutageMemory
from bot.channels.runtime import ChannelRuntime
from bot.channels.safety_net import case_opened_for, safety_reply
from bot.channels.turn import MAX_ATTEMPTS, Turn, channel_verdict, decide_turn
from bot.content.library import Library
from bot.outbox.errors import DeliveryError
from bot.senders import sender_ref
from bot.sending.splitting import text_parts
from bot.triage import TriageResult

log = logging.getLogger(__name__)

READY_WAIT = 120.0          # seconds to wait for Rasa's model at start before processing anyway
PURGE_EVERY = 3600.0
HOLD_SECONDS = 8.0          # how long a non-urgent event accepted in memory waits for the database
FLUSH_EVERY = 0.5           # how often events kept in memory are offered to the database


class InboxWorker:
    """Stores events, then processes each sender's events one at a time in arrival order."""

    def __init__(self, channel: str, runtime: ChannelRuntime, on_new_message: Handler, *,
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
        self._memory = OutageMemory(self.ttl.total_seconds(),
                                    lambda i: i.kind == TEXT and channel_verdict(i.text or "").urgent)
        self._flush_lock = asyncio.Lock()
        self._open = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self._io = _InboxIO(self)

    # -- lifecycle
    async def start(self) -> None:
        """Resume unfinished events and start the heartbeat, the sweeper and the runtime's reply delivery."""
        await self.rt.start_delivery()
        self._tasks.append(asyncio.create_task(self._open_when_ready(), name=f"{self.channel}-ready"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name=f"{self.channel}-heartbeat"))
        self._tasks.append(asyncio.create_task(self._sweeper(), name=f"{self.channel}-sweeper"))
        self._tasks.append(asyncio.create_task(self._flusher(), name=f"{self.channel}-flusher"))

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
                    await asyncio.to_thread(store.purge_sent_replies, self.rt.engine)
            except SQLAlchemyError:
                log.warning("inbox sweep failed (database unavailable)")
            except Exception:
                log.exception("inbox sweep failed")
            await asyncio.sleep(self.rt.settings.sweep_interval)

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            if self._memory:
                await self.flush_memory()

    # -- accepting
    async def accept(self, items: list[Item]) -> tuple[int, int]:
        """Record events durably (or in memory if the database is down); returns (new, duplicates)."""
        if not items:
            return 0, 0
        given = len(items)
        items = [i for i in items if i.key not in self._memory.seen]  # redelivered after an outage
        fresh: list[Item] | None = [] if not items else None
        if items:
            try:
                # Events kept in memory go first, so they keep their place before these newer ones.
                if not self._memory or await self.flush_memory():
                    fresh = await self.rt.writer.insert(items, self.ttl)
            except SQLAlchemyError:
                pass
            if fresh is None:
                log.error("inbox unavailable: keeping %d event(s) in memory", len(items))
                fresh = self._memory.add(items)
        for sender in dict.fromkeys(i.sender_id for i in fresh):
            self.wake(sender)
        return len(fresh), given - len(fresh)

    async def flush_memory(self) -> bool:
        """Move the events kept in memory into the inbox; True when nothing is left in memory."""
        async with self._flush_lock:
            held, answered = self._memory.take()
            try:
                if held:
                    await self.rt.writer.insert(held, self.ttl)
            except SQLAlchemyError:
                self._memory.restore(held, answered)
                # A sender's drain may have found the memory empty meanwhile and stopped: start it again.
                for sender in dict.fromkeys(i.sender_id for i in held):
                    self.wake(sender)
                return False
            try:
                if answered:
                    await self.rt.writer.run(store.record_answered, answered, self.ttl, self.rt.settings.worker_id)
                    self._memory.recorded(answered)
            except SQLAlchemyError:
                self._memory.restore([], answered)
            if held:
                log.warning("inbox available again: %d event(s) moved from memory", len(held))
            for sender in dict.fromkeys(i.sender_id for i in held):
                self.wake(sender)
            return not held or not self._memory.queues

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
                item = self._memory.next_due(sender_id, HOLD_SECONDS)
                if item is None and self._memory.holds(sender_id):  # held: the database may be back soon
                    await asyncio.sleep(FLUSH_EVERY / 2)
                    continue
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
                if item.row_id is not None and item.key in self._memory.answered_keys:  # answered in an outage
                    await self._db(store.finish, item.row_id, self._memory.answered_keys[item.key])
                    continue
                if item.attempts > MAX_ATTEMPTS + 3 and item.row_id is not None:
                    log.error("giving up on an event that failed %d times (channel=%s sender_ref=%s)",
                              item.attempts, self.channel, sender_ref(sender_id))
                    await self._db(store.finish, item.row_id, "gave_up")
                    continue
                async with self._sem:
                    await self.process(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one sender's failure must not stop the others
            # The error may quote the message: its type only, the traceback at debug level.
            log.error("processing failed for channel=%s sender_ref=%s: %s", self.channel, sender_ref(sender_id),
                      type(exc).__name__)
            log.debug("processing failure", exc_info=True)
            await asyncio.sleep(1.0)
        finally:
            self._active.pop(sender_id, None)

    async def process(self, item: Item) -> None:
        """Handle one event completely: hand-off, bot turn or safety net, replies queued in the outbox."""
        turn = await self._turn(item)
        if not turn.parts:  # forwarded, unfollowed, or nothing to say
            await self._finish(item, turn.outcome)
            return
        if item.row_id is not None and await self._store_replies(item, turn):
            self.rt.dispatcher.poke()
            return
        # Accepted in memory, or the replies cannot be made durable: sending them now beats waiting longer.
        sent, failed = await self._send_direct(item, turn)
        self._memory.note_answered(store.Answered(item, turn.outcome, sent, failed, turn.urgent))

    async def _store_replies(self, item: Item, turn: Turn) -> bool:
        """Queue the replies and finish the event; an ordinary reply waits up to HOLD_SECONDS for the database."""
        deadline = time.monotonic() + (0.0 if turn.urgent else HOLD_SECONDS)
        while True:
            try:
                await self._db(store.store_replies, item, turn.parts, turn.urgent, turn.outcome, required=True)
                return True
            except StoreUnavailable:
                if self._stopping or time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(FLUSH_EVERY)

    async def _turn(self, item: Item) -> Turn:
        """The channel's hook (e.g. answer a button press), then the safety policy."""
        if self.before_process is not None:
            try:
                await self.before_process(item)
            except Exception:
                log.warning("channel pre-processing failed for channel=%s", self.channel)
        return await decide_turn(item, self._run_bot, self._io)

    async def _run_bot(self, item: Item, text: str) -> BotReply:
        """One Rasa turn with the configured timeout (none while the model is not loaded)."""
        if self.ready is not None and not self.ready():
            return BotReply(failed="not ready")
        return await run_assistant(self.on_new_message, item, text, self.rt.settings.bot_timeout)

    async def _send_direct(self, item: Item, turn: Turn) -> tuple[tuple[Part, ...], tuple[Part, ...]]:
        """Send the parts now, in order; returns (sent, failed)."""
        sent: list[Part] = []
        failed: list[Part] = []
        for part in turn.parts:
            text, buttons = part
            try:
                await self.rt.outbound.send_part(item.sender_id, text, buttons=buttons, urgent=turn.urgent)
                sent.append(part)
            except DeliveryError:
                failed.append(part)  # logged and recorded by Outbound
        return tuple(sent), tuple(failed)

    async def _finish(self, item: Item, outcome: str) -> None:
        if item.row_id is not None:
            await self._db(store.finish, item.row_id, outcome)
        else:
            self._memory.note_answered(store.Answered(item, outcome))

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


class _InboxIO:
    """The turn policy's I/O for a worker: hand-off state, forwards, cases and the safety net."""

    def __init__(self, worker: InboxWorker) -> None:
        """Bound to the worker's runtime and its retrying database steps."""
        self._worker = worker
        self._rt = worker.rt

    @property
    def library(self) -> Library:
        """The newest good content."""
        return self._rt.library

    async def human_owner(self, sender_id: str) -> int | None:
        """The counselor's claimed case, or None (also when the state cannot be read: the bot answers)."""
        try:
            return await asyncio.to_thread(human_owner, self._rt.engine, sender_id)
        except SQLAlchemyError:
            log.warning("hand-off state unavailable; the bot answers (channel=%s)", self._worker.channel)
            return None

    async def forward(self, case_id: int, note: str) -> None:
        """Required: if it cannot be recorded, the event stays unfinished and is retried later."""
        await self._worker._db(forward_resident_message, case_id, note, required=True)

    async def case_exists(self, message_id: str) -> bool:
        """Whether the assistant opened a case for this message."""
        return await asyncio.to_thread(case_opened_for, self._rt.engine, message_id)

    async def safety_net(self, item: Item, text: str, verdict: TriageResult) -> tuple[Part, ...]:
        """The hotline reply and a case, without Rasa or the action server."""
        reply = await asyncio.to_thread(safety_reply, self._rt.library, self._rt.cases, item.sender_id, text,
                                        verdict, item.key, item.channel)
        return text_parts(reply)
