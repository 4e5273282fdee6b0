"""What /health reports: the database, Telegram notifications, hand-off delivery, transcript writes to Rasa,
urgent replies, the spool, jobs.

Any value other than "ok" or "off" makes the desk "degraded" (HTTP 503), so a monitor notices a card
that cannot be posted, an urgent reply that did not reach a resident or a case waiting in the spool.
Only `status` is public; the details (queue sizes, task names) are for holders of the desk API token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bot.db.engine import session_factory
from bot.outbox.failures import recent_urgent_send_failures
from bot.outbox.models import PENDING, OutboxItem

URGENT_WINDOW = timedelta(hours=1)


def delivery_health(engine: Engine, *, telegram_enabled: bool, updates_state: str | None,
                    now: datetime) -> dict[str, Any]:
    """Notifications and hand-off fail while one of their rows has failed and still waits; urgent replies
    fail when one could not be delivered in the last hour."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with session_factory(engine)() as s:
        rows = s.execute(select(OutboxItem.kind, func.count(), func.max(OutboxItem.attempts))
                         .where(OutboxItem.status == PENDING).group_by(OutboxItem.kind)).all()
    stats = {kind: (count, attempts or 0) for kind, count, attempts in rows}
    telegram = [v for kind, v in stats.items() if kind.startswith("tg_")]
    tg_count, tg_attempts = sum(c for c, _ in telegram), max((a for _, a in telegram), default=0)
    res_count, res_attempts = stats.get("resident_push", (0, 0))
    rasa_count, rasa_attempts = stats.get("rasa_events", (0, 0))
    if not telegram_enabled:
        notifications = "off"
    elif tg_attempts > 0 or (updates_state or "ok") != "ok":
        notifications = "failing"
    else:
        notifications = "ok"
    urgent_failures = recent_urgent_send_failures(engine, now - URGENT_WINDOW)
    return {"notifications": notifications, "notifications_pending": tg_count,
            "handoff": "failing" if res_attempts > 0 else "ok", "handoff_pending": res_count,
            "transcript": "failing" if rasa_attempts > 0 else "ok", "transcript_pending": rasa_count,
            "urgent_deliveries": "failing" if urgent_failures else "ok",
            "urgent_delivery_failures": urgent_failures}


def summarize(database_ok: bool, deliveries: dict[str, Any], jobs: dict[str, Any],
              spool: str = "ok") -> tuple[dict[str, Any], bool]:
    """The /health body and whether everything is fine (`spool`: "failing" while a case waits in it)."""
    jobs = {**jobs, "spool": "failing"} if spool != "ok" else jobs
    body = {"database": "ok" if database_ok else "down", **jobs, **deliveries}
    ok = database_ok and all(v in ("ok", "off") for v in body.values() if isinstance(v, str))
    body["status"] = "ok" if ok else "degraded"
    return body, ok


def public_view(body: dict[str, Any]) -> dict[str, Any]:
    """What /health tells a caller without the desk API token: ok or degraded, nothing else."""
    return {"status": body["status"]}
