"""Who agreed to hear from the bot: subscribe, unsubscribe, read, and the platforms' window clock.

Guarantees: one row per sender id (`outreach_subscriptions.sender_id` is unique); subscribing again
re-activates that row with the newest wording, topics, province and time; an unsubscribe takes effect
in the same call (the row is inactive when it returns, so no later audience snapshot includes it);
`touch_inbound` is one UPDATE by the unique sender id, a no-op for anyone who is not subscribed, and
never moves `last_inbound_at` backwards; a counselor's override is recorded with the account name.
Nothing here logs a sender id or the wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection, Engine

from bot.db.engine import session_factory
from bot.outreach.models import TOPIC_EVENTS, TOPICS, Subscription
from bot.senders import channel_of
from bot.timeutil import aware


@dataclass(frozen=True)
class SubscriptionView:
    """One resident's subscription as callers see it (topics as a tuple, times aware UTC)."""

    sender_id: str
    channel: str
    topics: tuple[str, ...]
    province: str | None
    active: bool
    consented_at: datetime | None
    last_inbound_at: datetime | None
    case_override_by: str | None


def clean_topics(topics: Sequence[str]) -> tuple[str, ...]:
    """Known topics in TOPICS order, without duplicates; ValueError when none or an unknown one is given."""
    unknown = [t for t in topics if t not in TOPICS]
    if unknown or not topics:
        raise ValueError(f"topics must be a non-empty subset of {TOPICS}")
    return tuple(t for t in TOPICS if t in topics)


def subscribe(engine: Engine, sender_id: str, topics: Sequence[str], province: str | None, consent_text: str,
              now: datetime) -> None:
    """Insert or re-activate the sender's subscription; the newest wording, topics, province and time win."""
    chosen = clean_topics(topics)
    if TOPIC_EVENTS in chosen and not province:
        raise ValueError("events in one's province need a province")
    if not consent_text.strip():
        raise ValueError("the consent wording is required")
    values = {"channel": channel_of(sender_id), "topics": ",".join(chosen), "province": province or None,
              "consent_text": consent_text, "consented_at": now, "active": True, "unsubscribed_at": None,
              "last_inbound_at": now}  # subscribing is a message from the resident: the windows restart
    with session_factory(engine).begin() as s:
        row = s.execute(select(Subscription).where(Subscription.sender_id == sender_id)).scalar_one_or_none()
        if row is None:
            s.add(Subscription(sender_id=sender_id, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)


def unsubscribe(engine: Engine, sender_id: str, now: datetime) -> bool:
    """Stop every broadcast to the sender at once; True when a subscription was active."""
    with engine.begin() as conn:
        changed = conn.execute(update(Subscription)
                               .where(Subscription.sender_id == sender_id, Subscription.active.is_(True))
                               .values(active=False, unsubscribed_at=now)).rowcount
    return changed == 1


def get_subscription(engine: Engine, sender_id: str) -> SubscriptionView | None:
    """The sender's subscription (active or not), or None when there never was one (or it was erased)."""
    with engine.connect() as conn:
        row = conn.execute(select(Subscription).where(Subscription.sender_id == sender_id)).first()
    if row is None:
        return None
    return SubscriptionView(sender_id=row.sender_id, channel=row.channel,
                            topics=tuple(t for t in (row.topics or "").split(",") if t),
                            province=row.province, active=bool(row.active), consented_at=aware(row.consented_at),
                            last_inbound_at=aware(row.last_inbound_at), case_override_by=row.case_override_by)


def is_active(engine: Engine, sender_id: str) -> bool:
    """Whether the sender currently receives broadcasts."""
    view = get_subscription(engine, sender_id)
    return bool(view and view.active)


def touch_inbound(engine_or_conn: Engine | Connection, sender_ids: Iterable[str], at: datetime) -> None:
    """Record that these senders just wrote (their platforms' windows restart); no-op for non-subscribers."""
    ids = sorted(set(sender_ids))
    if not ids:
        return
    stmt = (update(Subscription)
            .where(Subscription.sender_id.in_(ids),
                   or_(Subscription.last_inbound_at.is_(None), Subscription.last_inbound_at < at))
            .values(last_inbound_at=at).execution_options(synchronize_session=False))
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.begin() as conn:
            conn.execute(stmt)
    else:
        engine_or_conn.execute(stmt)  # inside the caller's transaction (the channels' inbox write)


def allow_despite_case(engine: Engine, sender_id: str, by: str) -> bool:
    """A counselor allows broadcasts although the resident has an open case; True when a subscription was found."""
    if not by.strip():
        raise ValueError("the counselor's account name is required")
    with engine.begin() as conn:
        changed = conn.execute(update(Subscription).where(Subscription.sender_id == sender_id)
                               .values(case_override_by=by)).rowcount
    return changed == 1
