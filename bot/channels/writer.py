"""One thread performs the channels' database writes: acknowledgements first, grouped into one commit.

Under a burst, webhook acknowledgements must not queue behind the writes of messages being
processed, nor fight over SQLite's write lock (its busy handler sleeps up to 100 ms at a time).
A single writer thread per database takes jobs from a priority queue: all waiting inbox inserts
go first and share one transaction; processing writes follow one by one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.channels import store
from bot.channels.items import Item

log = logging.getLogger(__name__)

ACK, WORK, STOP = 0, 1, 9


class DbWriter:
    """Runs write functions `fn(engine, *args)` on one thread; async callers await the result."""

    def __init__(self, engine: Engine, name: str = "channel-db-writer") -> None:
        """The thread starts on the first job."""
        self.engine = engine
        self._name = name
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a write function (called as fn(engine, *args)) after any waiting acknowledgements."""
        return await self._submit(WORK, fn, args)

    async def insert(self, items: list[Item], ttl: timedelta) -> list[Item]:
        """Record events for an acknowledgement (batched with other waiting acknowledgements)."""
        return await self._submit(ACK, store.insert_batches, (items, ttl))

    async def _submit(self, priority: int, fn: Callable[..., Any], args: tuple) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._ensure_thread()
        self._queue.put((priority, next(self._seq), fn, args, loop, future))
        return await future

    def close(self, timeout: float = 5.0) -> None:
        """Finish queued jobs, then stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put((STOP, next(self._seq), None, (), None, None))
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            priority, _, fn, args, loop, future = self._queue.get()
            if priority == STOP:
                return
            if priority == ACK:
                jobs = [(args, loop, future)]
                while True:  # group every acknowledgement already waiting into this commit
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt[0] != ACK:
                        self._queue.put(nxt)
                        break
                    jobs.append((nxt[3], nxt[4], nxt[5]))
                ttl = jobs[0][0][1]
                try:
                    results = store.insert_batches(self.engine, [a[0] for a, _, _ in jobs], ttl)
                except BaseException as exc:
                    for _, lp, fut in jobs:
                        _resolve(lp, fut, error=exc)
                else:
                    for (_, lp, fut), fresh in zip(jobs, results):
                        _resolve(lp, fut, value=fresh)
                continue
            try:
                value = fn(self.engine, *args)
            except BaseException as exc:
                _resolve(loop, future, error=exc)
            else:
                _resolve(loop, future, value=value)


def _resolve(loop: asyncio.AbstractEventLoop, future: asyncio.Future, *, value: Any = None,
             error: BaseException | None = None) -> None:
    def apply() -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    try:
        loop.call_soon_threadsafe(apply)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        log.debug("result dropped: event loop closed")
