"""Delivery failures: replies that could not be delivered after retries (no message text is kept)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Engine

from bot.outbox.models import DeliveryFailure
from bot.timeutil import UTC, utcnow


def record_failure(engine: Engine, channel: str, sender_id: str, error: str, *, urgent: bool,
                   by_human: bool) -> None:
    """Remember that a reply could not be delivered."""
    with engine.begin() as conn:
        conn.execute(insert(DeliveryFailure).values(at=utcnow(), channel=channel, sender_id=sender_id,
                                                    urgent=urgent, by_human=by_human, error=error[:64]))


def recent_urgent_send_failures(engine: Engine, since: datetime) -> int:
    """How many urgent replies failed to be delivered since a moment (for the desk's health endpoint)."""
    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(DeliveryFailure)
                                .where(and_(DeliveryFailure.urgent.is_(True), DeliveryFailure.at >= since)))
                   .scalar_one())
