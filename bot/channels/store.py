"""Tables of the channels: inbox (seen ids + durable queue), outbox, Zalo tokens, delivery failures.

Every function here is synchronous; async callers run them with `asyncio.to_thread`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine

from bot.cases import utcnow
from bot.db import Base

PENDING, PROCESSING, ANSWERED, DONE = "pending", "processing", "answered", "done"
UNFINISHED = (PENDING, PROCESSING, ANSWERED)
SENT, FAILED = "sent", "failed"


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class InboxMessage(Base):
    """One accepted platform event: its id (against redelivery) and, until processed, its content."""

    __tablename__ = "channel_inbox"
    id = Column(Integer, primary_key=True, autoincrement=True)  # arrival order
    key = Column(String(255), nullable=False, unique=True)     # "<channel>:<platform message id>"
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(200), nullable=False)             # "zalo:<id>", "messenger:<psid>", "telegram:<chat>"
    kind = Column(String(20), nullable=False)                   # text | attachment | welcome | unfollow
    text = Column(Text, nullable=True)                          # cleared once processed
    data = Column(Text, nullable=True)                          # JSON extras (attachment kind, callback id…)
    status = Column(String(16), nullable=False, default=PENDING)
    owner = Column(String(64), nullable=True)
    lease_until = Column(DateTime(timezone=True), nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    outcome = Column(String(32), nullable=True)
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    done_at = Column(DateTime(timezone=True), nullable=True)
    expires_at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_channel_inbox_sender_status", "sender_id", "status", "id"),
                      Index("ix_channel_inbox_status_lease", "status", "lease_until"),
                      Index("ix_channel_inbox_expires", "expires_at"))


class OutboxMessage(Base):
    """One reply part (under the platform limit) waiting to be sent, or its delivery record."""

    __tablename__ = "channel_outbox"
    id = Column(Integer, primary_key=True, autoincrement=True)
    inbox_id = Column(Integer, nullable=False, index=True)
    seq = Column(Integer, nullable=False)
    sender_id = Column(String(200), nullable=False)
    text = Column(Text, nullable=True)                          # cleared once sent
    buttons = Column(Text, nullable=True)                       # JSON [{"title", "payload"}]
    urgent = Column(Boolean, nullable=False, default=False)
    status = Column(String(16), nullable=False, default=PENDING)
    error = Column(String(64), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    sent_at = Column(DateTime(timezone=True), nullable=True)


class ZaloToken(Base):
    """The Zalo OA token pair; `version` is the compare-and-swap guard, `lease_*` the refresh lock."""

    __tablename__ = "zalo_oa_tokens"
    app_id = Column(String(64), primary_key=True)
    access_token = Column(Text, nullable=False)
    refresh_token = Column(Text, nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=True)
    version = Column(Integer, nullable=False, default=1)
    lease_owner = Column(String(64), nullable=True)
    lease_until = Column(DateTime(timezone=True), nullable=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class DeliveryFailure(Base):
    """A reply that could not be delivered after retries (no message text is kept)."""

    __tablename__ = "delivery_failures"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(200), nullable=False)
    urgent = Column(Boolean, nullable=False, default=False, index=True)
    by_human = Column(Boolean, nullable=False, default=False)
    error = Column(String(64), nullable=False)


# One writer at a time within this process: threads then queue on a lock instead of SQLite's
# busy handler, whose sleeps (up to 100 ms each) made acknowledgements slow under load.
_WRITE_LOCK = threading.Lock()


@contextmanager
def writing(engine: Engine) -> Iterator[Any]:
    """A write transaction, serialised with this process's other channel writes."""
    with _WRITE_LOCK, engine.begin() as conn:
        yield conn


# ---- inbox ------------------------------------------------------------------------------------------

@dataclass
class Item:
    """A normalised incoming event, before or after it is stored."""

    key: str
    channel: str
    sender_id: str
    kind: str
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    row_id: int | None = None
    status: str = PENDING
    attempts: int = 0


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
                            .where(InboxMessage.owner == owner, InboxMessage.status.in_((PROCESSING, ANSWERED)))
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


def store_replies(engine: Engine, item: Item, parts: list[tuple[str, list[dict[str, str]] | None]],
                  urgent: bool, outcome: str) -> None:
    """Write the reply parts to the outbox and mark the event answered, in one transaction."""
    now = utcnow()
    with writing(engine) as conn:
        for seq, (text, buttons) in enumerate(parts):
            conn.execute(insert(OutboxMessage).values(
                inbox_id=item.row_id, seq=seq, sender_id=item.sender_id, text=text,
                buttons=json.dumps(buttons, ensure_ascii=False) if buttons else None, urgent=urgent,
                status=PENDING, created_at=now))
        conn.execute(update(InboxMessage).where(InboxMessage.id == item.row_id)
                     .values(status=ANSWERED, outcome=outcome, text=None))


@dataclass
class OutPart:
    """An outbox row to send."""

    id: int
    sender_id: str
    text: str
    buttons: list[dict[str, str]] | None
    urgent: bool


def pending_parts(engine: Engine, inbox_id: int) -> list[OutPart]:
    """The unsent reply parts of an event, in order."""
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage).where(OutboxMessage.inbox_id == inbox_id,
                                                        OutboxMessage.status == PENDING)
                            .order_by(OutboxMessage.seq)).all()
    return [OutPart(r.id, r.sender_id, r.text or "", json.loads(r.buttons) if r.buttons else None, r.urgent)
            for r in rows]


def mark_part(engine: Engine, part_id: int, status: str, error: str | None = None) -> None:
    """Record the outcome of sending one reply part (the text is dropped)."""
    with writing(engine) as conn:
        conn.execute(update(OutboxMessage).where(OutboxMessage.id == part_id)
                     .values(status=status, error=error, text=None, sent_at=utcnow() if status == SENT else None))


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
            chunk = ids[start:start + 500]
            conn.execute(delete(OutboxMessage).where(OutboxMessage.inbox_id.in_(chunk)))
            conn.execute(delete(InboxMessage).where(InboxMessage.id.in_(chunk)))
        return len(ids)


def inbox_counts(engine: Engine, channel: str | None = None) -> dict[str, int]:
    """How many events are in each status (for health pages and tests)."""
    q = select(InboxMessage.status, func.count()).group_by(InboxMessage.status)
    if channel:
        q = q.where(InboxMessage.channel == channel)
    with engine.connect() as conn:
        return {status: n for status, n in conn.execute(q).all()}


# ---- delivery failures -------------------------------------------------------------------------------

def record_failure(engine: Engine, channel: str, sender_id: str, error: str, *, urgent: bool,
                   by_human: bool) -> None:
    """Remember that a reply could not be delivered."""
    with writing(engine) as conn:
        conn.execute(insert(DeliveryFailure).values(at=utcnow(), channel=channel, sender_id=sender_id,
                                                    urgent=urgent, by_human=by_human, error=error[:64]))


def recent_urgent_send_failures(engine: Engine, since: datetime) -> int:
    """How many urgent replies failed to be delivered since a moment (for the desk's health endpoint)."""
    since = since.replace(tzinfo=timezone.utc) if since.tzinfo is None else since.astimezone(timezone.utc)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(DeliveryFailure)
                                .where(and_(DeliveryFailure.urgent.is_(True), DeliveryFailure.at >= since)))
                   .scalar_one())
