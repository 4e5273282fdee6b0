"""The outbox dispatcher: rows written with the change they announce, delivered with retries.

A row is inserted in the same database transaction as the case change it announces, under a
unique `dedup_key` derived from that change (`card:12`, `claimed:12:87`…), so a change can never
enqueue two deliveries. The dispatcher delivers rows in id order within a lane (one lane per case
for Telegram, one per resident for the channels and one for Rasa), retries failures with exponential
backoff, and marks a row sent right after the platform accepted it.

Selection is fair: each pass looks at the head of every pending lane (however many rows wait behind
heads that are failing or backing off) and leases no more due heads than it can start, most urgent
lane first (a lane is as urgent as its most urgent pending row), oldest first among equals. A lease is taken
with a conditional update, so dispatchers in several processes on one database never deliver a row twice. Lane
families (`tg`, `tgs`, `res`, `rasa`, `reply`: the part before the first colon) have their own
`concurrency` slots, so a Telegram outage never holds the pushes to residents and the reverse. Within a
family more urgent rows go alone: lower ones start when none is due and those started are done or have
had `HEAD_START` seconds. A burst of junk or a long outage therefore never hides a danger-now card or a
counselor's reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.cases.models import CaseEvent
from bot.db.engine import session_factory
from bot.outbox.errors import GiveUp, RetryLater, Skip
from bot.outbox.models import DEAD, PENDING, SENT, SKIPPED, OutboxItem
from bot.timeutil import Clock

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MARK_RETRIES = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between tries to record a result
HEAD_START = 5.0  # seconds a more urgent delivery of a family has before less urgent ones may start
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
    priority: int = 0  # of its lane when it was taken


@dataclass(frozen=True)
class InFlight:
    """A delivery under way: its lane's family, its priority and when it started (monotonic seconds)."""

    family: str
    priority: int
    started: float


def lane_family(lane: str) -> str:
    """The family of a lane (`tg`, `res`, `rasa`…): each family has its own delivery slots."""
    return lane.split(":", 1)[0]


# A handler may return a function that records side effects (message ids, "notified" events) in the
# same transaction that marks the row sent.
Handler = Callable[[Delivery], Awaitable["Callable[[Session], None] | None"]]
# Called in the transaction that marks a row dead (failed for good), with the last error.
OnDead = Callable[[Session, Delivery, str], None]


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
                 forget_payload: frozenset[str] = frozenset(), on_dead: OnDead | None = None) -> None:
        """Handlers map a row kind to a coroutine; this dispatcher only ever takes rows of those kinds.

        Several processes share the one outbox table, each delivering its own kinds (the Rasa process the
        residents' replies, the desk the cards and counselor messages), so rows of other kinds are left alone.
        `owner` names this process in its leases; `write_lock` serialises its writes with the process's other
        writers (SQLite); rows of a `forget_payload` kind lose their payload (resident text) once finished;
        `on_dead` records a row that failed for good (e.g. in `delivery_failures`) in the same transaction.
        `concurrency` is per lane family: at most that many deliveries of one family are under way at once.
        """
        self.engine = engine
        self.Session = session_factory(engine)
        self.clock = clock
        self.handlers = handlers
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts or {}
        self.owner = owner
        self.forget_payload = forget_payload
        self.on_dead = on_dead
        self.concurrency = concurrency
        self._write_lock = write_lock or nullcontext()
        self.wake = asyncio.Event()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._inflight: dict[str, asyncio.Task] = {}
        self._meta: dict[str, InFlight] = {}
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

    def _family_sql(self) -> Any:
        lane = OutboxItem.lane
        if self.engine.dialect.name == "postgresql":
            return func.split_part(lane, ":", 1)
        cut = func.instr(lane, ":")
        return sql_case((cut > 0, func.substr(lane, 1, cut - 1)), else_=lane)

    def _take(self, busy: Mapping[str, InFlight] | None = None) -> list[Delivery]:
        """Lease the due head rows of the most urgent idle lanes, no more per family than it has free slots."""
        busy = dict(busy or {})
        now, clock = self.clock.now(), time.monotonic()
        used: dict[str, int] = {}
        bar: dict[str, int] = {}  # per family: the least urgent priority that may start now
        for flight in busy.values():
            used[flight.family] = used.get(flight.family, 0) + 1
            if clock - flight.started < HEAD_START:
                bar[flight.family] = max(bar.get(flight.family, flight.priority), flight.priority)
        heads = (select(OutboxItem.lane, func.min(OutboxItem.id).label("head"),
                        func.max(OutboxItem.priority).label("urgency"))
                 .where(OutboxItem.status == PENDING, OutboxItem.kind.in_(list(self.handlers)))
                 .group_by(OutboxItem.lane).subquery())
        # A row never tried is due at once: it may have been stamped by another process's clock.
        due = or_(OutboxItem.attempts == 0, OutboxItem.next_attempt_at <= now)
        free = or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until <= now)
        rank = func.row_number().over(partition_by=self._family_sql(),
                                      order_by=(heads.c.urgency.desc(), OutboxItem.id)).label("rank")
        ranked = (select(OutboxItem.id, heads.c.urgency, rank)
                  .join(heads, and_(OutboxItem.id == heads.c.head, OutboxItem.lane == heads.c.lane))
                  .where(due, free))
        if busy:
            ranked = ranked.where(OutboxItem.lane.not_in(list(busy)))
        cand = ranked.subquery()
        q = (select(OutboxItem, cand.c.urgency).join(cand, OutboxItem.id == cand.c.id)
             .where(cand.c.rank <= self.concurrency).order_by(cand.c.urgency.desc(), OutboxItem.id))
        with self._write_lock, self.Session.begin() as s:
            taken: list[Delivery] = []
            for row, urgency in s.execute(q).all():
                family = lane_family(row.lane)
                if used.get(family, 0) >= self.concurrency or urgency < bar.setdefault(family, urgency):
                    continue
                # Compare-and-set: of two processes that picked the same head, only one changes the row (on
                # PostgreSQL the second UPDATE waits for the first and re-checks the lease on the new version).
                won = s.execute(update(OutboxItem)
                                .where(OutboxItem.id == row.id, OutboxItem.status == PENDING, free)
                                .values(lease_until=now + LEASE, lease_owner=self.owner)
                                .execution_options(synchronize_session=False)).rowcount
                if not won:
                    continue
                used[family] = used.get(family, 0) + 1
                taken.append(Delivery(row.id, row.kind, row.lane, row.case_id, json.loads(row.payload or "{}"),
                                      row.attempts, int(urgency or 0)))
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
                    log.warning("outbox %s #%d gave up after %d attempts: %s", item.kind, item.id, row.attempts,
                                row.last_error)
            if status == DEAD:
                row.status = DEAD
                row.last_error = (error or "")[:300]
                if row.case_id is not None:
                    s.add(CaseEvent(case_id=row.case_id, kind="delivery_failed", actor="Hệ thống <desk>", at=now,
                                    detail=f"{item.kind}: {row.last_error}"))
                if self.on_dead is not None:
                    self.on_dead(s, item, row.last_error)
            elif status != PENDING:
                row.status = status
                row.last_error = (error or None) and error[:300]
                if status == SENT:
                    row.sent_at = now
                    if commit is not None:
                        commit(s)
            if row.status != PENDING and item.kind in self.forget_payload:
                row.payload = "{}"

    async def _mark(self, item: Delivery, status: str, error: str | None = None, delay: float = 0.0,
                    commit: Callable[[Session], None] | None = None) -> None:
        """Record a delivery's result, retrying through a short database outage.

        If it still cannot be recorded, the row's lease runs out and it is delivered again: for a row that
        was sent, that is one repeat, which beats losing a row that was not.
        """
        for pause in MARK_RETRIES:
            try:
                await asyncio.to_thread(self._finish, item, status, error, delay, commit)
                return
            except SQLAlchemyError:
                log.warning("outbox %s #%d: could not record %s (database unavailable); retrying", item.kind,
                            item.id, status)
                await asyncio.sleep(pause)
        log.error("outbox %s #%d: result %s not recorded; the row is retried after its lease", item.kind, item.id,
                  status)

    async def _deliver(self, item: Delivery) -> None:
        family = lane_family(item.lane)
        async with self._slots.setdefault(family, asyncio.Semaphore(self.concurrency)):
            handler = self.handlers.get(item.kind)
            try:
                if handler is None:
                    raise RetryLater(f"no handler for {item.kind}")
                commit = await handler(item)
            except Skip as exc:
                await self._mark(item, SKIPPED, str(exc))
            except GiveUp as exc:
                log.warning("outbox %s #%d failed for good: %s", item.kind, item.id, exc)
                await self._mark(item, DEAD, str(exc))
            except RetryLater as exc:
                delay = backoff(item.attempts + 1, self.max_backoff, exc.after)
                log.warning("outbox %s #%d failed (attempt %d), retry in %.1fs: %s", item.kind, item.id,
                            item.attempts + 1, delay, exc)
                await self._mark(item, PENDING, str(exc), delay)
                return
            except Exception as exc:  # any failure is retried, never lost
                delay = backoff(item.attempts + 1, self.max_backoff)
                log.warning("outbox %s #%d failed (attempt %d), retry in %.1fs: %s", item.kind, item.id,
                            item.attempts + 1, delay, type(exc).__name__)
                await self._mark(item, PENDING, type(exc).__name__, delay)
                return
            else:
                await self._mark(item, SENT, None, 0.0, commit)

    def _start(self, items: list[Delivery]) -> list[asyncio.Task]:
        started = []
        for item in items:
            if item.lane in self._inflight:
                continue
            task = asyncio.create_task(self._deliver(item))
            self._inflight[item.lane] = task
            self._meta[item.lane] = InFlight(lane_family(item.lane), item.priority, time.monotonic())
            task.add_done_callback(lambda _t, lane=item.lane: self._done(lane))
            started.append(task)
        return started

    def _done(self, lane: str) -> None:
        self._inflight.pop(lane, None)
        self._meta.pop(lane, None)
        self.wake.set()

    async def run_once(self) -> int:
        """Start delivering every idle lane's due head row and wait for those deliveries."""
        items = await asyncio.to_thread(self._take, dict(self._meta))
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
                    items = await asyncio.to_thread(self._take, dict(self._meta))
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
