"""Tables of outreach: who agreed to hear from the bot, what staff broadcast, to whom, and poll answers.

Nothing here stores message text a resident wrote. A subscription keeps the exact wording the resident
agreed to and when; erasing a resident deletes their subscription and poll answers and replaces their id
in `broadcast_recipients` with an anonymous token, so campaign counts survive and nothing points at them.
Every new column must be nullable or have a server default (bot.db.schema adds it to older databases).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from bot.db.base import Base
from bot.timeutil import utcnow

# What a resident can subscribe to.
TOPIC_NEWS, TOPIC_EVENTS = "news", "events"
TOPICS = (TOPIC_NEWS, TOPIC_EVENTS)

# A broadcast's life: draft → approved → sending → done, or cancelled from any state before done.
DRAFT, APPROVED, SENDING, DONE, CANCELLED = "draft", "approved", "sending", "done", "cancelled"
STATES = (DRAFT, APPROVED, SENDING, DONE, CANCELLED)

# A recipient's outcome. `reason` (skipped or failed) is one of SKIP_REASONS or a short error code.
R_PENDING, R_SENT, R_SKIPPED, R_FAILED = "pending", "sent", "skipped", "failed"
SKIP_OUTSIDE_WINDOW = "outside_window"   # the platform forbids a message this long after the resident's last one
SKIP_UNSUBSCRIBED = "unsubscribed"       # stopped between the audience snapshot and the send
SKIP_OPEN_CASE = "open_case"             # has an open or claimed case (and no counselor allowed it)
SKIP_QUIET_HOURS = "quiet_hours"         # the send window closed before a quiet-hours pause ended
SKIP_CANCELLED = "cancelled"             # the broadcast was cancelled before this recipient's turn
SKIP_EXPIRED = "expired"                 # the broadcast's end time passed before this recipient's turn
SKIP_DELETED = "deleted"                 # the resident asked for their data to be deleted
SKIP_REASONS = (SKIP_OUTSIDE_WINDOW, SKIP_UNSUBSCRIBED, SKIP_OPEN_CASE, SKIP_QUIET_HOURS, SKIP_CANCELLED,
                SKIP_EXPIRED, SKIP_DELETED)

# The outbox kind of one broadcast message to one recipient (lane family "bc").
BROADCAST_KIND = "broadcast"


class Subscription(Base):
    """A resident who agreed to hear from the bot: what about, for which province, in which words, when."""

    __tablename__ = "outreach_subscriptions"
    id = Column(Integer, primary_key=True, autoincrement=True)
    sender_id = Column(String(200), nullable=False, unique=True)   # "zalo:<id>", "messenger:<psid>", "telegram:<chat>"
    channel = Column(String(16), nullable=False)
    topics = Column(String(100), nullable=False, default=TOPIC_NEWS)  # comma-separated TOPICS
    province = Column(String(80), nullable=True)                    # canonical name from content/provinces.yml
    consent_text = Column(Text, nullable=False)                     # the wording the resident agreed to
    consented_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    active = Column(Boolean, nullable=False, default=True)
    unsubscribed_at = Column(DateTime(timezone=True), nullable=True)
    # The resident's last message on their platform (the platforms' messaging windows count from it).
    last_inbound_at = Column(DateTime(timezone=True), nullable=True)
    # A counselor who allowed broadcasts to this resident although they have an open case (account name).
    case_override_by = Column(String(120), nullable=True)

    __table_args__ = (Index("ix_outreach_subscriptions_active", "active", "channel", "province"),)


class Broadcast(Base):
    """A message staff prepare for many subscribers; a second staff account approves it before it goes out."""

    __tablename__ = "outreach_broadcasts"
    id = Column(Integer, primary_key=True, autoincrement=True)
    text = Column(Text, nullable=False)
    buttons = Column(Text, nullable=False, default="[]")       # JSON list of quick-reply labels (poll options)
    poll_question = Column(Text, nullable=True)                # set when the buttons are a poll's answers
    topic = Column(String(16), nullable=False, default=TOPIC_NEWS)
    province = Column(String(80), nullable=True)               # None: every province
    channel = Column(String(16), nullable=True)                # None: every channel
    start_at = Column(DateTime(timezone=True), nullable=False)
    end_at = Column(DateTime(timezone=True), nullable=True)
    quiet_hours = Column(String(16), nullable=False, default="21:00-07:00")  # "HH:MM-HH:MM" Vietnam time, or "off"
    state = Column(String(12), nullable=False, default=DRAFT)
    event_key = Column(String(200), nullable=True, unique=True)  # an event reminder's event (one reminder per event)
    created_by = Column(String(80), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    approved_by = Column(String(80), nullable=True)
    approved_at = Column(DateTime(timezone=True), nullable=True)
    started_at = Column(DateTime(timezone=True), nullable=True)
    finished_at = Column(DateTime(timezone=True), nullable=True)
    cancelled_by = Column(String(80), nullable=True)
    cancelled_at = Column(DateTime(timezone=True), nullable=True)
    recipients = Column(Integer, nullable=True)                # the audience snapshot's size, set when sending starts

    __table_args__ = (Index("ix_outreach_broadcasts_state", "state", "start_at"),)


class BroadcastRecipient(Base):
    """One recipient of one broadcast: written with its outbox row, updated when that row finishes."""

    __tablename__ = "outreach_recipients"
    id = Column(Integer, primary_key=True, autoincrement=True)
    broadcast_id = Column(Integer, ForeignKey("outreach_broadcasts.id", ondelete="CASCADE"), nullable=False)
    sender_id = Column(String(200), nullable=False)   # an anonymous token once the resident is erased
    channel = Column(String(16), nullable=False)
    province = Column(String(80), nullable=True)
    status = Column(String(12), nullable=False, default=R_PENDING)
    reason = Column(String(40), nullable=True)
    at = Column(DateTime(timezone=True), nullable=True)  # when it was sent, skipped or failed

    __table_args__ = (UniqueConstraint("broadcast_id", "sender_id", name="uq_outreach_recipient"),
                      Index("ix_outreach_recipients_status", "broadcast_id", "status"),
                      Index("ix_outreach_recipients_sender", "sender_id"))


class PollAnswer(Base):
    """One answer to a broadcast's poll, by an anonymous voter token (one answer per voter and poll)."""

    __tablename__ = "outreach_poll_answers"
    id = Column(Integer, primary_key=True, autoincrement=True)
    broadcast_id = Column(Integer, ForeignKey("outreach_broadcasts.id", ondelete="CASCADE"), nullable=False)
    voter = Column(String(64), nullable=False)   # HMAC of the sender id: counts one answer, names nobody
    option = Column(Integer, nullable=False)     # 0-based index into the broadcast's buttons
    province = Column(String(80), nullable=True)
    channel = Column(String(16), nullable=False)
    answered_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("broadcast_id", "voter", name="uq_outreach_poll_voter"),)
