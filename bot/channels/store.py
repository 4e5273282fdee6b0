"""The channels' inbox (seen ids + durable queue) and how replies enter the one outbox, as synchronous functions.

Every function here is synchronous; async callers run them with `asyncio.to_thread`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine

from bot.channels.items import ATTACHMENT, TEXT, Item, Part
from bot.channels.models import DONE, PENDING, PROCESSING, UNFINISHED, InboxMessage
from bot.outbox.models import DEAD as OUTBOX_DEAD
from bot.outbox.models import PENDING as OUTBOX_PENDING
from bot.outbox.models import PRIORITY_DANGER, PRIORITY_NORMAL, OutboxItem
from bot.outbox.models import SENT as OUTBOX_SENT
from bot.outreach.subscriptions import touch_inbound
from bot.timeutil import aware, utcnow

INBOUND_KINDS = (TEXT, ATTACHMENT)  # what the resident wrote herself (a follow or an unfollow is not a message)
BOT_REPLY = "bot_reply"  # the outbox kind of the assistant's replies, delivered by the Rasa process


# One writer at a time within this process: threads then queue on a lock instead of SQLite's
# busy handler, whose sleeps (up to 100 ms each) made acknowledgements slow under load.
WRITE_LOCK = threading.Lock()


@contextmanager
def writing(engine: Engine) -> Iterator[Any]:
    """A write transaction, serialised with this process's other channel writes."""
    with WRITE_LOCK, engine.begin() as conn:
        yield conn


# ---- inbox ------------------------------------------------------------------------------------------

def _row_item(row: Any) -> Item:
    return Item(key=row.key, channel=row.channel, sender_id=row.sender_id, kind=row.kind, text=row.text,
                data=json.loads(row.data) if row.data else {}, row_id=row.id, status=row.status,
                attempts=row.attempts)


def insert_items(engine: Engine, items: list[Item], ttl: timedelta) -> list[Item]:
    """Durably record new events; returns those not seen before, with their row ids (arrival order)."""
    return insert_batches(engine, [items], ttl)[0]


def insert_batches(engine: Engine, batches: list[list[Item]], ttl: timedelta) -> list[list[Item]]:
    """Record several requests' events in one transaction (one fsync); the new ones per request."""
    now = utcnow()
    results: list[list[Item]] = []
    with writing(engine) as conn:
        for items in batches:
            fresh: list[Item] = []
            for item in items:
                values = {"key": item.key, "channel": item.channel, "sender_id": item.sender_id,
                          "kind": item.kind, "text": item.text,
                          "data": json.dumps(item.data, ensure_ascii=False) if item.data else None,
                          "status": PENDING, "attempts": 0, "received_at": now, "expires_at": now + ttl}
                stmt = _insert_ignore(engine, values)
                if stmt is not None:
                    if conn.execute(stmt).rowcount != 1:
                        continue
                else:  # dialects without ON CONFLICT: look first (the unique key still guards races)
                    if conn.execute(select(InboxMessage.id).where(InboxMessage.key == item.key)).first():
                        continue
                    conn.execute(insert(InboxMessage).values(**values))
                row_id = conn.execute(select(InboxMessage.id).where(InboxMessage.key == item.key)).scalar_one()
                fresh.append(Item(item.key, item.channel, item.sender_id, item.kind, item.text, item.data, row_id))
            results.append(fresh)
        # A subscriber's platform window restarts with each message she sends (bot.outreach); same transaction.
        touch_inbound(conn, [i.sender_id for batch in results for i in batch if i.kind in INBOUND_KINDS], now)
    return results


def _insert_ignore(engine: Engine, values: dict[str, Any]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for SQLite and PostgreSQL, else None."""
    name = engine.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return None
    return dialect_insert(InboxMessage).values(**values).on_conflict_do_nothing(index_elements=["key"])


def claim_next(engine: Engine, sender_id: str, owner: str, lease: timedelta) -> Item | None:
    """Claim the sender's oldest unfinished event, unless another live worker holds it; else None."""
    now = utcnow()
    with writing(engine) as conn:
        row = conn.execute(select(InboxMessage.id, InboxMessage.status, InboxMessage.owner,
                                  InboxMessage.lease_until)
                           .where(InboxMessage.sender_id == sender_id, InboxMessage.status.in_(UNFINISHED))
                           .order_by(InboxMessage.id).limit(1)).first()
        if row is None:
            return None
        if row.status != PENDING and row.owner != owner and (aware(row.lease_until) or now) > now:
            return None
        new_status = PROCESSING if row.status == PENDING else row.status
        claimed = conn.execute(
            update(InboxMessage)
            .where(InboxMessage.id == row.id, InboxMessage.status == row.status,
                   or_(InboxMessage.owner.is_(None), InboxMessage.owner == owner,
                       InboxMessage.lease_until.is_(None), InboxMessage.lease_until < now,
                       InboxMessage.status == PENDING))
            .values(status=new_status, owner=owner, lease_until=now + lease,
                    attempts=InboxMessage.attempts + 1)).rowcount
        if claimed != 1:
            return None
    with engine.connect() as conn:
        full = conn.execute(select(InboxMessage.__table__).where(InboxMessage.id == row.id)).first()
    return _row_item(full)


def renew_leases(engine: Engine, owner: str, lease: timedelta) -> int:
    """Extend every claim this worker holds (its heartbeat)."""
    with writing(engine) as conn:
        return conn.execute(update(InboxMessage)
                            .where(InboxMessage.owner == owner, InboxMessage.status == PROCESSING)
                            .values(lease_until=utcnow() + lease)).rowcount


def senders_to_resume(engine: Engine, channel: str, owner: str) -> list[str]:
    """Senders with events waiting: pending, claimed by this worker, or whose claim expired."""
    now = utcnow()
    with engine.connect() as conn:
        rows = conn.execute(
            select(InboxMessage.sender_id, func.min(InboxMessage.id).label("first"))
            .where(InboxMessage.channel == channel, InboxMessage.status.in_(UNFINISHED),
                   or_(InboxMessage.status == PENDING, InboxMessage.owner == owner,
                       InboxMessage.lease_until.is_(None), InboxMessage.lease_until < now))
            .group_by(InboxMessage.sender_id).order_by("first")).all()
    return [r.sender_id for r in rows]


def store_replies(engine: Engine, item: Item, parts: Sequence[Part], urgent: bool, outcome: str) -> None:
    """Queue the reply parts in the one outbox and finish the event, in one transaction.

    Each part is one `bot_reply` row on the sender's lane, so parts and later events' replies go
    out in order; the row key (event key + part number) makes a repeated store a no-op. An urgent
    reply (the hotline numbers) goes before every other resident's ordinary replies.
    """
    now = utcnow()
    with writing(engine) as conn:
        for seq, (text, buttons) in enumerate(parts):
            key = f"{BOT_REPLY}:{item.key}:{seq}"
            if conn.execute(select(OutboxItem.id).where(OutboxItem.dedup_key == key)).first() is not None:
                continue
            payload = {"sender_id": item.sender_id, "text": text, "buttons": buttons, "urgent": urgent}
            conn.execute(insert(OutboxItem).values(
                dedup_key=key, kind=BOT_REPLY, lane=reply_lane(item.sender_id),
                payload=json.dumps(payload, ensure_ascii=False), status=OUTBOX_PENDING, attempts=0,
                next_attempt_at=now, created_at=now, priority=PRIORITY_DANGER if urgent else PRIORITY_NORMAL))
        conn.execute(update(InboxMessage).where(InboxMessage.id == item.row_id)
                     .values(status=DONE, outcome=outcome, text=None, data=None, done_at=now, lease_until=None))


@dataclass(frozen=True)
class Answered:
    """An event answered straight from memory while the database was down, and the parts that were sent."""

    item: Item
    outcome: str
    sent: tuple[Part, ...] = ()
    failed: tuple[Part, ...] = ()
    urgent: bool = False


def record_answered(engine: Engine, answered: Sequence[Answered], ttl: timedelta, owner: str) -> None:
    """Record events answered without the database as done, with their replies as sent (or dead), in one transaction.

    The event's key then guards against a redelivery like any other; the replies' rows (without their
    text, like any finished reply) keep the record of what the resident was sent. An event already in the
    inbox (claimed by this worker, or a redelivery still pending) is finished; one another worker holds or
    finished is left to it.
    """
    now = utcnow()
    with writing(engine) as conn:
        for entry in answered:
            item = entry.item
            values = {"key": item.key, "channel": item.channel, "sender_id": item.sender_id, "kind": item.kind,
                      "text": None, "data": None, "status": DONE, "outcome": entry.outcome, "attempts": 1,
                      "received_at": now, "done_at": now, "expires_at": now + ttl}
            exists = conn.execute(select(InboxMessage.id).where(InboxMessage.key == item.key)).first()
            if exists is not None:
                mine = or_(InboxMessage.status == PENDING,
                           and_(InboxMessage.status == PROCESSING, InboxMessage.owner == owner))
                if not conn.execute(update(InboxMessage).where(InboxMessage.id == exists.id, mine)
                                    .values(status=DONE, outcome=entry.outcome, text=None, data=None,
                                            done_at=now, lease_until=None)).rowcount:
                    continue
            else:
                stmt = _insert_ignore(engine, values)
                if stmt is None:
                    conn.execute(insert(InboxMessage).values(**values))
                elif conn.execute(stmt).rowcount != 1:
                    continue  # another writer recorded it a moment ago
            parts = [(OUTBOX_SENT, p) for p in entry.sent] + [(OUTBOX_DEAD, p) for p in entry.failed]
            for seq, (status, _part) in enumerate(parts):
                key = f"{BOT_REPLY}:{item.key}:{seq}"
                if conn.execute(select(OutboxItem.id).where(OutboxItem.dedup_key == key)).first() is not None:
                    continue
                conn.execute(insert(OutboxItem).values(
                    dedup_key=key, kind=BOT_REPLY, lane=reply_lane(item.sender_id), payload="{}", status=status,
                    attempts=1, next_attempt_at=now, created_at=now, sent_at=now if status == OUTBOX_SENT else None,
                    last_error=None if status == OUTBOX_SENT else "sent directly: failed",
                    priority=PRIORITY_DANGER if entry.urgent else PRIORITY_NORMAL))


def reply_lane(sender_id: str) -> str:
    """The outbox lane of a resident's bot replies (one lane per resident keeps them in order)."""
    return f"reply:{sender_id}"


def finish(engine: Engine, row_id: int, outcome: str | None = None) -> None:
    """Mark an event processed and forget its content (its key stays until expiry)."""
    values: dict[str, Any] = {"status": DONE, "text": None, "data": None, "done_at": utcnow(), "lease_until": None}
    if outcome:
        values["outcome"] = outcome
    with writing(engine) as conn:
        conn.execute(update(InboxMessage).where(InboxMessage.id == row_id).values(**values))


def purge_expired(engine: Engine, now: datetime | None = None) -> int:
    """Forget processed events whose dedup window has passed, with their outbox rows."""
    now = now or utcnow()
    with writing(engine) as conn:
        ids = [r.id for r in conn.execute(select(InboxMessage.id).where(
            InboxMessage.status == DONE, InboxMessage.expires_at < now)).all()]
        if not ids:
            return 0
        for start in range(0, len(ids), 500):
            conn.execute(delete(InboxMessage).where(InboxMessage.id.in_(ids[start:start + 500])))
        return len(ids)


def purge_sent_replies(engine: Engine, older_than: timedelta = timedelta(days=2), now: datetime | None = None) -> int:
    """Forget delivered (or given up) bot replies; their text was already dropped when they finished."""
    cutoff = (now or utcnow()) - older_than
    with writing(engine) as conn:
        return conn.execute(delete(OutboxItem).where(OutboxItem.kind == BOT_REPLY,
                                                     OutboxItem.status != OUTBOX_PENDING,
                                                     OutboxItem.created_at < cutoff)).rowcount or 0


def inbox_counts(engine: Engine, channel: str | None = None) -> dict[str, int]:
    """How many events are in each status (for health pages and tests)."""
    q = select(InboxMessage.status, func.count()).group_by(InboxMessage.status)
    if channel:
        q = q.where(InboxMessage.channel == channel)
    with engine.connect() as conn:
        return {status: n for status, n in conn.execute(q).all()}


