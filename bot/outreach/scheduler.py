"""Starting due broadcasts and finishing done ones: what the desk's broadcast loop runs every few seconds.

What it guarantees:
- an approved broadcast whose start time has come gets its audience snapshot in ONE transaction: the state moves
  approved → sending by a conditional update (so two passes or two processes cannot both start it), and every
  recipient gets one `outreach_recipients` row and one outbox row (kind `broadcast`, lane `bc:<sender id>`, unique
  key `bc:<broadcast id>:<sender id>`, normal priority: residents' replies and counselors' cards go first);
- a broadcast whose end time passed before it started is started with every recipient skipped `expired`;
- a sending broadcast with no recipient left to finish becomes done.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, insert, select, update
from sqlalchemy.engine import Engine

from bot.content.library import Library
from bot.db.engine import session_factory
from bot.outbox.models import PENDING, PRIORITY_NORMAL, OutboxItem
from bot.outreach import reminders
from bot.outreach.audience import members
from bot.outreach.models import (
    APPROVED,
    BROADCAST_KIND,
    DONE,
    R_PENDING,
    R_SKIPPED,
    SENDING,
    SKIP_EXPIRED,
    Broadcast,
    BroadcastRecipient,
)
from bot.outreach.views import R_SENDING
from bot.timeutil import Clock, aware

log = logging.getLogger(__name__)
REMINDER_EVERY = 60.0  # seconds between two looks at the events calendar


def outbox_key(broadcast_id: int, sender_id: str) -> str:
    """The outbox dedup key of one broadcast to one recipient."""
    return f"bc:{broadcast_id}:{sender_id}"


def start_broadcast(engine: Engine, broadcast_id: int, now: datetime) -> int | None:
    """Snapshot the audience and queue one message per recipient; None when another pass started it first."""
    with session_factory(engine).begin() as s:
        won = s.execute(update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.state == APPROVED)
                        .values(state=SENDING, started_at=now)).rowcount
        if not won:
            return None
        row = s.get(Broadcast, broadcast_id)
        audience = members(s, topic=row.topic, province=row.province, channel=row.channel)
        expired = row.end_at is not None and aware(row.end_at) <= now
        row.recipients = len(audience)
        if audience:
            s.execute(insert(BroadcastRecipient), [
                {"broadcast_id": broadcast_id, "sender_id": m.sender_id, "channel": m.channel, "province": m.province,
                 "status": R_SKIPPED if expired else R_PENDING, "reason": SKIP_EXPIRED if expired else None,
                 "at": now if expired else None} for m in audience])
        if audience and not expired:
            s.execute(insert(OutboxItem), [
                {"dedup_key": outbox_key(broadcast_id, m.sender_id), "kind": BROADCAST_KIND,
                 "lane": f"bc:{m.sender_id}", "case_id": None,
                 "payload": json.dumps({"broadcast_id": broadcast_id, "sender_id": m.sender_id}, ensure_ascii=False),
                 "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
                 "priority": PRIORITY_NORMAL} for m in audience])
        return len(audience)


def due_broadcasts(engine: Engine, now: datetime) -> list[int]:
    """Approved broadcasts whose start time has come, oldest first."""
    with session_factory(engine)() as s:
        return list(s.execute(select(Broadcast.id).where(Broadcast.state == APPROVED, Broadcast.start_at <= now)
                              .order_by(Broadcast.start_at, Broadcast.id)).scalars())


def finish_done(engine: Engine, now: datetime) -> list[int]:
    """Mark done every sending broadcast with no recipient pending or being sent."""
    unfinished = exists().where(BroadcastRecipient.broadcast_id == Broadcast.id,
                                BroadcastRecipient.status.in_((R_PENDING, R_SENDING)))
    with session_factory(engine).begin() as s:
        ids = list(s.execute(select(Broadcast.id).where(Broadcast.state == SENDING, ~unfinished)).scalars())
        if ids:
            s.execute(update(Broadcast).where(Broadcast.id.in_(ids), Broadcast.state == SENDING, ~unfinished)
                      .values(state=DONE, finished_at=now).execution_options(synchronize_session=False))
        return ids


@dataclass
class BroadcastScheduler:
    """One pass: event reminders (now and then), start what is due, finish what is done; wakes the outbox."""

    engine: Engine
    clock: Clock
    library: Callable[[], Library]
    auto_approve_reminders: bool = False
    on_enqueue: Callable[[], None] | None = None
    _last_reminders: datetime | None = None

    def tick(self) -> None:
        """Run one pass (blocking; the desk runs it in a thread)."""
        now = self.clock.now()
        if self._last_reminders is None or (now - self._last_reminders).total_seconds() >= REMINDER_EVERY:
            self._last_reminders = now
            reminders.ensure_reminders(self.engine, self.library(), now, auto_approve=self.auto_approve_reminders)
        started = 0
        for broadcast_id in due_broadcasts(self.engine, now):
            count = start_broadcast(self.engine, broadcast_id, now)
            if count is not None:
                started += 1
                log.info("broadcast %d started: %d recipient(s)", broadcast_id, count)
        if started and self.on_enqueue is not None:
            self.on_enqueue()
        for broadcast_id in finish_done(self.engine, now):
            log.info("broadcast %d done", broadcast_id)
