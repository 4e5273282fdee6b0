"""Residents' right to delete their conversation with the bot ("xóa dữ liệu của tôi")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Column, DateTime, Integer, String, create_engine, select, text
from sqlalchemy.engine import Engine

from bot.config import tracker_database_url
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.timeutil import utcnow


class DeletionRequest(Base):
    """A resident's confirmed request to delete their conversation history."""

    __tablename__ = "deletion_requests"
    id = Column(Integer, primary_key=True, autoincrement=True)
    sender_id = Column(String(200), nullable=False, index=True)
    requested_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    done_at = Column(DateTime(timezone=True), nullable=True)


def request_deletion(engine: Engine, sender_id: str) -> None:
    """Record the request durably; the desk deletes once the current turn has been saved."""
    with session_factory(engine).begin() as s:
        s.add(DeletionRequest(sender_id=sender_id))


def delete_tracker(tracker_engine: Engine, sender_id: str) -> int:
    """Delete every stored event of a conversation from Rasa's SQL tracker store."""
    with tracker_engine.begin() as conn:
        exists = conn.execute(text("SELECT name FROM sqlite_master WHERE name='events'")).first() \
            if tracker_engine.dialect.name == "sqlite" else True
        if not exists:
            return 0
        return conn.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": sender_id}).rowcount


def tracker_writer() -> Engine:
    """A writable engine on Rasa's tracker store (the desk's transcript engine is read-only)."""
    return create_engine(tracker_database_url(), future=True)


def process_deletions(engine: Engine, tracker_engine: Engine,
                      grace: timedelta = timedelta(seconds=3)) -> int:
    """Carry out requests older than the grace period; returns how many were done."""
    Session = session_factory(engine)
    done = 0
    with Session() as s:
        pending = list(s.execute(select(DeletionRequest).where(DeletionRequest.done_at.is_(None))).scalars())
    cutoff = utcnow() - grace
    for req in pending:
        requested = req.requested_at if req.requested_at.tzinfo else req.requested_at.replace(tzinfo=cutoff.tzinfo)
        if requested > cutoff:
            continue
        delete_tracker(tracker_engine, req.sender_id)
        with Session.begin() as s:
            s.get(DeletionRequest, req.id).done_at = utcnow()
        done += 1
    return done
