"""Tables of the desk: Telegram message map, accounts, sessions, login brake, update de-duplication, tracker marks,
saved replies, the pinned queue summary."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.db.base import Base
from bot.timeutil import utcnow


class TelegramMessage(Base):
    """A message the desk posted about a case, so edits and replies find the case."""

    __tablename__ = "desk_tg_messages"
    id = Column(Integer, primary_key=True, autoincrement=True)
    case_id = Column(Integer, nullable=False, index=True)
    chat_id = Column(String(64), nullable=False)
    message_id = Column(BigInteger, nullable=False)
    role = Column(String(30), nullable=False)  # card | supervisor_card | notice
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("chat_id", "message_id", name="uq_desk_tg_message"),)


class Account(Base):
    """A console account: a counselor or a staff member."""

    __tablename__ = "desk_accounts"
    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(80), nullable=False, unique=True)
    display_name = Column(String(120), nullable=False)
    role = Column(String(20), nullable=False)
    password_hash = Column(String(255), nullable=False)
    telegram_user_id = Column(BigInteger, nullable=True, unique=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at = Column(DateTime(timezone=True), nullable=True)


class DeskSession(Base):
    """A logged-in browser; the id is an HMAC of the cookie value, never the value itself."""

    __tablename__ = "desk_sessions"
    id = Column(String(64), primary_key=True)
    account_id = Column(Integer, ForeignKey("desk_accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)


class LoginLimit(Base):
    """Login attempts in the current window of one client address or one account (the key is an HMAC)."""

    __tablename__ = "desk_login_limits"
    scope = Column(String(10), primary_key=True)  # address | account
    key = Column(String(64), primary_key=True)
    count = Column(Integer, nullable=False, default=0)
    window_end = Column(DateTime(timezone=True), nullable=False, index=True)


class SeenUpdate(Base):
    """Telegram update ids already handled (webhook redeliveries, polling after a restart)."""

    __tablename__ = "desk_tg_updates"
    update_id = Column(BigInteger, primary_key=True, autoincrement=False)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class TrackerMark(Base):
    """How far the desk has read a REST conversation in Rasa's tracker store."""

    __tablename__ = "desk_tracker_marks"
    sender_id = Column(String(255), primary_key=True)
    last_event_id = Column(Integer, nullable=False, default=0)


class SavedReply(Base):
    """A ready answer counselors insert in the reply box; placeholders such as {so_tu_van} are filled per case."""

    __tablename__ = "desk_saved_replies"
    id = Column(Integer, primary_key=True, autoincrement=True)
    # The key of a seeded reply: a seed whose key exists (even deactivated) is never written again.
    seed_key = Column(String(40), nullable=True, unique=True)
    title = Column(String(120), nullable=False)
    body = Column(Text, nullable=False)
    position = Column(Integer, nullable=False, default=0)
    active = Column(Boolean, nullable=False, default=True)
    updated_by = Column(String(200), nullable=False, default="")
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class PinnedSummary(Base):
    """The queue's summary message pinned in a Telegram chat (one per chat), edited as the counts change."""

    __tablename__ = "desk_tg_summary"
    chat_id = Column(String(64), primary_key=True)
    message_id = Column(BigInteger, nullable=False)
    pinned = Column(Boolean, nullable=False, default=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
