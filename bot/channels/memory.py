"""What a channel worker holds while its database is down: events it acknowledged, and events it answered.

Bookkeeping only; the worker does the I/O. Events are kept per sender in arrival order, with when they came
(so a redelivery is recognised) and whether the rules find them urgent (those are answered at once). Answered
events wait here until they are recorded. `take` empties the memory for a flush; `restore` puts back what a
failed flush took, ahead of anything accepted meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.channels.items import Item
from bot.channels.store import Answered


class OutageMemory:
    """Events accepted without the database, and those answered without it, until the database has them."""

    def __init__(self, ttl_seconds: float, is_urgent: Callable[[Item], bool]) -> None:
        """`ttl_seconds`: how long a key is remembered against redelivery; `is_urgent`: the rules' verdict."""
        self.ttl, self.is_urgent = ttl_seconds, is_urgent
        self.queues: dict[str, list[Item]] = {}
        self.seen: dict[str, float] = {}          # key → when it came (monotonic)
        self.urgent: set[str] = set()
        self.answered: list[Answered] = []        # not yet recorded
        self.answered_keys: dict[str, str] = {}   # key → outcome, so a re-claimed event is not answered again

    def __bool__(self) -> bool:
        return bool(self.queues or self.answered)

    def holds(self, sender_id: str) -> bool:
        """Whether events of this sender wait in memory."""
        return sender_id in self.queues

    def add(self, items: list[Item]) -> list[Item]:
        """Keep the events not seen before; returns them."""
        now = time.monotonic()
        for key in [k for k, at in self.seen.items() if now - at > self.ttl]:
            del self.seen[key]
            self.urgent.discard(key)
        fresh = []
        for item in items:
            if item.key in self.seen:
                continue
            self.seen[item.key] = now
            if self.is_urgent(item):
                self.urgent.add(item.key)
            self.queues.setdefault(item.sender_id, []).append(item)
            fresh.append(item)
        return fresh

    def next_due(self, sender_id: str, hold: float) -> Item | None:
        """The sender's event to answer now: an urgent one first, else the oldest once it waited `hold` seconds."""
        queue = self.queues.get(sender_id)
        if not queue:
            return None
        due = next((i for i in queue if i.key in self.urgent), None)
        if due is None and time.monotonic() - self.seen.get(queue[0].key, 0.0) >= hold:
            due = queue[0]
        if due is None:
            return None
        queue.remove(due)
        if not queue:
            del self.queues[sender_id]
        return due

    def take(self) -> tuple[list[Item], list[Answered]]:
        """Everything waiting, to move to the database: events in arrival order per sender, answered events."""
        held = [i for queue in self.queues.values() for i in queue]
        answered, self.answered = self.answered, []
        self.queues = {}
        return held, answered

    def restore(self, held: list[Item], answered: list[Answered]) -> None:
        """Put back what `take` returned, ahead of anything kept since."""
        self.answered[:0] = answered
        later, self.queues = self.queues, {}
        for item in held:
            self.queues.setdefault(item.sender_id, []).append(item)
        for sender, queue in later.items():
            self.queues.setdefault(sender, []).extend(queue)

    def note_answered(self, entry: Answered) -> None:
        """An event answered without the database, to record later."""
        self.answered.append(entry)
        self.answered_keys[entry.item.key] = entry.outcome

    def recorded(self, answered: list[Answered]) -> None:
        """These answered events are in the database now."""
        for entry in answered:
            self.answered_keys.pop(entry.item.key, None)
