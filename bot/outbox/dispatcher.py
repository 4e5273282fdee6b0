"""The outbox dispatcher: rows written with the change they announce, delivered with retries.

A row is inserted in the same database transaction as the case change it announces, under a
unique `dedup_key` derived from that change (`card:12`, `claimed:12:87`…), so a change can never
enqueue two deliveries. The dispatcher delivers rows in id order within a lane (one lane per case
for Telegram, one per resident for Rasa and the channels), retries failures with exponential
backoff, and marks a row sent right after the platform accepted it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.cases.models import CaseEvent
from bot.db.engine import session_factory
from bot.outbox.errors import GiveUp, RetryLater, Skip
from bot.outbox.models import DEAD, PENDING, SENT, SKIPPED, OutboxItem
from bot.timeutil import Clock, aware

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
# asyncio.TimeoutError is not the builtin TimeoutError before Python 3.11.
TIMEOUTS = (asyncio.TimeoutError, TimeoutError)


@dataclass
class Delivery:
    """What a handler receives."""

    id: int
    kind: str
    lane: str
    case_id: int | None
    payload: dict[str, Any]
    attempts: int


# A handler may return a function that records side effects (message ids, "notified" events) in the
# same transaction that marks the row sent.
Handler = Callable[[Delivery], Awaitable["Callable[[Session], None] | None"]]


def backoff(attempts: int, cap: float, after: float | None = None) -> float:
    """Seconds to wait after `attempts` failures: 1, 2, 4… up to `cap`, with jitter; at least `after`."""
    base = min(cap, 2.0 ** max(attempts - 1, 0))
    delay = base * random.uniform(0.8, 1.2)
    return max(delay, after or 0.0)


class Dispatcher:
    """Delivers due outbox rows through the handler registered for their kind."""

    def __init__(self, engine: Engine, clock: Clock, handlers: dict[str, Handler], *,
                 max_backoff: float = 300.0, max_attempts: dict[str, int] | None = None,
                 concurrency: int = 8, owner: str = "desk", write_lock: AbstractContextManager | None = None,
                 forget_payload: frozenset[str] = frozenset()) -> None:
        """Handlers map a row kind to a coroutine; this dispatcher only ever takes rows of those kinds.

        Several processes share the one outbox table, each delivering its own kinds (the Rasa process the
        residents' replies, the desk the cards and counselor messages), so rows of other kinds are left alone.
        `owner` names this process in its leases; `write_lock` serialises its writes with the process's other
        writers (SQLite); rows of a `forget_payload` kind lose their payload (resident text) once finished.
        """
        self.engine = engine
        self.Session = session_factory(engine)
        self.clock = clock
        self.handlers = handlers
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts or {}
        self.owner = owner
        self.forget_payload = forget_payload
        self._write_lock = write_lock or nullcontext()
        self.wake = asyncio.Event()
        self._sem = asyncio.Semaphore(concurrency)
        self._inflight: dict[str, asyncio.Task] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def poke(self) -> None:
        """Wake the dispatcher now; safe to call from worker threads (asyncio.Event is not thread-safe)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # the loop is shutting down
            pass

    def release_leases(self) -> None:
        """Forget the leases this owner held before a restart (other processes' leases stay until they expire)."""
        with self._write_lock, self.Session.begin() as s:
            s.execute(update(OutboxItem).where(OutboxItem.status == PENDING, OutboxItem.lease_until.is_not(None),
                                               OutboxItem.kind.in_(list(self.handlers)),
                                               or_(OutboxItem.lease_owner == self.owner,
                                                   OutboxItem.lease_owner.is_(None)))
                      .values(lease_until=None, lease_owner=None))

    def _take(self, busy: frozenset[str] = frozenset()) -> list[Delivery]:
        """Lease the first pending row of every lane that is due and not already being delivered."""
        now = self.clock.now()
        with self._write_lock, self.Session.begin() as s:
            rows = list(s.execute(select(OutboxItem).where(OutboxItem.status == PENDING,
                                                           OutboxItem.kind.in_(list(self.handlers)))
                                  .order_by(OutboxItem.id).limit(2000)).scalars())
            seen: set[str] = set()
            taken: list[Delivery] = []
            for row in rows:
                if row.lane in seen:
                    continue
                seen.add(row.lane)
                if row.lane in busy:
                    continue
                lease = aware(row.lease_until)
                # A row never tried is due at once: it may have been stamped by another process's clock.
                waiting = row.attempts > 0 and aware(row.next_attempt_at) > now
                if waiting or (lease is not None and lease > now):
                    continue
                row.lease_until = now + LEASE
                row.lease_owner = self.owner
                taken.append(Delivery(row.id, row.kind, row.lane, row.case_id, json.loads(row.payload or "{}"),
                                      row.attempts))
            return taken

    def _finish(self, item: Delivery, status: str, error: str | None = None, delay: float = 0.0,
                commit: Callable[[Session], None] | None = None) -> None:
        now = self.clock.now()
        with self._write_lock, self.Session.begin() as s:
            row = s.get(OutboxItem, item.id)
            if row is None:
                return
            row.lease_until = None
            row.lease_owner = None
            if status == PENDING:
                row.attempts += 1
                row.last_error = (error or "")[:300]
                row.next_attempt_at = now + timedelta(seconds=delay)
                limit = self.max_attempts.get(item.kind)
                if limit and row.attempts >= limit:
                    status = DEAD
            if status == DEAD:
                row.status = DEAD
                row.last_error = (error or "")[:300]
                if row.case_id is not None:
                    s.add(CaseEvent(case_id=row.case_id, kind="delivery_failed", actor="Hệ thống <desk>", at=now,
                                    detail=f"{item.kind}: {row.last_error}"))
            elif status != PENDING:
                row.status = status
                row.last_error = (error or None) and error[:300]
                if status == SENT:
                    row.sent_at = now
                    if commit is not None:
                        commit(s)
            if row.status != PENDING and item.kind in self.forget_payload:
                row.payload = "{}"

    async def _deliver(self, item: Delivery) -> None:
        async with self._sem:
            handler = self.handlers.get(item.kind)
            try:
                if handler is None:
                    raise RetryLater(f"no handler for {item.kind}")
                commit = await handler(item)
            except Skip as exc:
                await asyncio.to_thread(self._finish, item, SKIPPED, str(exc))
            except GiveUp as exc:
                log.warning("outbox %s #%d failed for good: %s", item.kind, item.id, exc)
                await asyncio.to_thread(self._finish, item, DEAD, str(exc))
            except RetryLater as exc:
                delay = backoff(item.attempts + 1, self.max_backoff, exc.after)
                log.warning("outbox %s #%d failed (attempt %d), retry in %.1fs: %s", item.kind, item.id,
                            item.attempts + 1, delay, exc)
                await asyncio.to_thread(self._finish, item, PENDING, str(exc), delay)
                return
            except Exception as exc:  # any failure is retried, never lost
                delay = backoff(item.attempts + 1, self.max_backoff)
                log.warning("outbox %s #%d failed (attempt %d), retry in %.1fs: %s", item.kind, item.id,
                            item.attempts + 1, delay, type(exc).__name__)
                await asyncio.to_thread(self._finish, item, PENDING, type(exc).__name__, delay)
                return
            else:
                await asyncio.to_thread(self._finish, item, SENT, None, 0.0, commit)

    def _start(self, items: list[Delivery]) -> list[asyncio.Task]:
        started = []
        for item in items:
            if item.lane in self._inflight:
                continue
            task = asyncio.create_task(self._deliver(item))
            self._inflight[item.lane] = task
            task.add_done_callback(lambda _t, lane=item.lane: self._done(lane))
            started.append(task)
        return started

    def _done(self, lane: str) -> None:
        self._inflight.pop(lane, None)
        self.wake.set()

    async def run_once(self) -> int:
        """Start delivering every idle lane's due head row and wait for those deliveries."""
        items = await asyncio.to_thread(self._take, frozenset(self._inflight))
        started = self._start(items)
        if started:
            await asyncio.gather(*started, return_exceptions=True)
        return len(started)

    async def drain(self, timeout: float = 10.0) -> None:
        """Deliver until nothing is due (tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._inflight:
                await asyncio.gather(*self._inflight.values(), return_exceptions=True)
                continue
            if not await self.run_once():
                return

    async def run_forever(self, interval: float) -> None:
        """Deliver due rows as they come; lanes run in parallel, rows of a lane one after another."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                self.wake.clear()
                try:
                    items = await asyncio.to_thread(self._take, frozenset(self._inflight))
                    self._start(items)
                except Exception:  # a database hiccup must not stop delivery
                    log.exception("outbox pass failed")
                waiter = asyncio.ensure_future(self.wake.wait())
                done, _ = await asyncio.wait({waiter}, timeout=interval)
                if not done:
                    waiter.cancel()
        finally:
            for task in list(self._inflight.values()):
                task.cancel()

    def pending(self, lane_prefix: str = "") -> list[OutboxItem]:
        """Pending rows, optionally of lanes starting with a prefix."""
        q = select(OutboxItem).where(OutboxItem.status == PENDING)
        if lane_prefix:
            q = q.where(OutboxItem.lane.startswith(lane_prefix))
        with self.Session() as s:
            return list(s.execute(q.order_by(OutboxItem.id)).scalars())
