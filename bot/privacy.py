"""Residents' right to delete their data ("xóa dữ liệu của tôi"): a durable request, carried out race-free.

What it guarantees (docs/privacy.md says it for auditors):
- the request is recorded in the action that confirms it; the desk carries it out `GRACE` later, when the asking
  turn has normally been saved, through `bot.erasure` (every table that names the sender or holds her text);
- the request is a tombstone: every pass deletes the conversation's tracker events stamped up to `cutoff_at`
  (the request time plus `TURN_SLACK`, which covers the asking turn's own last events). A Rasa turn that loaded
  the conversation before the deletion and saves it after re-inserts it; the request is therefore re-applied on
  every pass until `WATCH` after the cutoff, and is finished only by a pass after that which found nothing to
  remove and nothing it had to keep. Messages written after the cutoff are a new conversation, not deleted;
- what an OPEN case needs (the case, its events, the conversation) and anything in flight (an unfinished inbox
  row, a pending reply, a case still in the spool file) is kept; the request keeps waiting and is re-applied
  every `RECHECK`. Once the case is resolved, the next pass anonymises it and the cutoff moves to that moment;
- a finished request no longer names the sender (its sender id becomes the anonymous token).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, String, create_engine, select
from sqlalchemy.engine import Engine

from bot.cases.spool import waits
from bot.config import tracker_database_url
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.erasure import OPEN_CASE, anonymous_token, delete_tracker_events, erase_sender
from bot.timeutil import Clock, SystemClock, aware, utcnow

GRACE = timedelta(seconds=3)
TURN_SLACK = timedelta(seconds=10)
WATCH = timedelta(minutes=15)  # longer than Rasa's action timeout (5 min) twice over
RECHECK = timedelta(minutes=1)
SPOOLED = "spooled"
HELD = frozenset({OPEN_CASE, SPOOLED})  # reasons that keep the conversation itself


class DeletionRequest(Base):
    """A resident's confirmed request to delete her data; `cutoff_at` is the tombstone time."""

    __tablename__ = "deletion_requests"
    id = Column(Integer, primary_key=True, autoincrement=True)
    sender_id = Column(String(200), nullable=False, index=True)
    requested_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    done_at = Column(DateTime(timezone=True), nullable=True)
    cutoff_at = Column(DateTime(timezone=True), nullable=True)    # tracker events up to here are deleted
    last_pass_at = Column(DateTime(timezone=True), nullable=True)
    passes = Column(Integer, nullable=True)
    kept = Column(String(100), nullable=True)                      # why the last pass kept something


def request_deletion(engine: Engine, sender_id: str, now: datetime | None = None) -> None:
    """Record the request durably; the desk carries it out once the current turn has been saved."""
    now = now or utcnow()
    with session_factory(engine).begin() as s:
        s.add(DeletionRequest(sender_id=sender_id, requested_at=now, cutoff_at=now + TURN_SLACK, passes=0))


def tracker_writer() -> Engine:
    """A writable engine on Rasa's tracker store (the desk's transcript engine is read-only)."""
    return create_engine(tracker_database_url(), future=True, hide_parameters=True)


def _due(req: DeletionRequest, now: datetime, grace: timedelta, watch: timedelta) -> bool:
    if aware(req.requested_at) + grace > now:
        return False
    if req.last_pass_at is None:
        return True
    watching = now < aware(req.cutoff_at or req.requested_at) + watch
    return watching or now - aware(req.last_pass_at) >= RECHECK


def process_deletions(engine: Engine, tracker_engine: Engine, key: bytes, clock: Clock | None = None, *,
                      grace: timedelta = GRACE, watch: timedelta = WATCH, spool: Path | None = None) -> int:
    """Apply every due request once; returns how many requests were finished by this pass."""
    now = (clock or SystemClock()).now()
    Session = session_factory(engine)
    with Session() as s:
        pending = [r for r in s.execute(select(DeletionRequest).where(DeletionRequest.done_at.is_(None))
                                        .order_by(DeletionRequest.id)).scalars() if _due(r, now, grace, watch)]
    finished = 0
    for req in pending:
        finished += _apply(engine, tracker_engine, key, req, now, watch, spool)
    return finished


def _apply(engine: Engine, tracker_engine: Engine, key: bytes, req: DeletionRequest, now: datetime,
           watch: timedelta, spool: Path | None) -> int:
    sender = req.sender_id
    cutoff = aware(req.cutoff_at) if req.cutoff_at else aware(req.requested_at) + TURN_SLACK
    kept = {SPOOLED} if waits(sender, spool) else set()
    erasure = erase_sender(engine, sender, key, cutoff)
    kept |= erasure.kept
    removed = erasure.removed
    was_held = bool(req.kept) and bool(HELD & set(req.kept.split(",")))
    if was_held and not HELD & kept and now > cutoff:
        cutoff = now  # kept for her case until now: what she wrote meanwhile goes with it
        again = erase_sender(engine, sender, key, cutoff)
        kept |= again.kept
        removed += again.removed
    if not HELD & kept:
        removed += delete_tracker_events(tracker_engine, sender, up_to=cutoff.timestamp())
    done = not kept and removed == 0 and now >= cutoff + watch
    with session_factory(engine).begin() as s:
        row = s.get(DeletionRequest, req.id)
        row.cutoff_at = cutoff
        row.last_pass_at = now
        row.passes = (row.passes or 0) + 1
        row.kept = ",".join(sorted(kept)) or None
        if done:
            row.done_at = now
            row.sender_id = anonymous_token(key, sender)
    return int(done)
