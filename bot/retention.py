"""The retention period: what the project keeps about residents is purged or anonymised once it is older.

What it guarantees, for rows older than the period (`DATA_RETENTION_DAYS`, default 180):
- resolved cases are anonymised (`bot.erasure.anonymise_cases`), never deleted, so counts still work;
  an unresolved case, however old, is kept whole, with its outbox rows and its conversation;
- conversations in Rasa's tracker store lose their events older than the period, whole sessions only:
  the latest session of a conversation stays unless all of it is older (a live turn never loses the
  events it counts on);
- review items, finished outbox rows, delivery failures, finished channel inbox rows, finished deletion
  requests and the REST watcher's marks of senders without a claimed case are deleted.
Each call does a bounded amount of work (`BATCH` conversations and cases), so it can run on a schedule.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.engine import Engine

from bot.cases.models import CLAIMED, RESOLVED, Case
from bot.config import env
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.erasure import TOKEN_PREFIX, anonymise_cases, has_events_table, open_case_senders
from bot.outbox.models import PENDING, DeliveryFailure, OutboxItem
from bot.privacy import DeletionRequest
from bot.review_queue import purge_older_than

log = logging.getLogger(__name__)
DEFAULT_RETENTION_DAYS = 180
BATCH = 500


@dataclass(frozen=True)
class PrivacySettings:
    """How long resident data is kept, and the key of the anonymous tokens."""

    retention: timedelta
    token_key: bytes


def privacy_settings_from_env(fallback_secret: str | None = None) -> PrivacySettings:
    """DATA_RETENTION_DAYS (default 180) and PRIVACY_TOKEN_SECRET (else derived from `fallback_secret`)."""
    raw = env("DATA_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS)) or ""
    try:
        days = float(raw)
    except ValueError as exc:
        raise SystemExit("DATA_RETENTION_DAYS must be a number of days") from exc
    if days < 1:
        raise SystemExit("DATA_RETENTION_DAYS must be at least 1")
    secret = env("PRIVACY_TOKEN_SECRET")
    if secret:
        key = secret.encode("utf-8")
    elif fallback_secret:
        key = hmac.new(fallback_secret.encode("utf-8"), b"privacy-token", hashlib.sha256).digest()
    else:
        log.warning("neither PRIVACY_TOKEN_SECRET nor DESK_SESSION_SECRET is set: anonymous tokens change "
                    "when the desk restarts")
        key = secrets.token_bytes(32)
    return PrivacySettings(timedelta(days=days), key)


def purge_expired(engine: Engine, tracker_engine: Engine | None, retention: timedelta, key: bytes,
                  now: datetime) -> dict[str, int]:
    """Apply the retention period once; returns how many rows of each kind were purged or anonymised."""
    cutoff = now - retention
    done = {"cases": _anonymise_old_cases(engine, cutoff, key)}
    done["conversations"] = purge_old_conversations(tracker_engine, cutoff, open_case_senders(engine)) \
        if tracker_engine is not None else 0
    done["review_items"] = purge_older_than(engine, cutoff)
    with session_factory(engine).begin() as s:
        open_cases = select(Case.id).where(Case.status != RESOLVED)
        done["outbox"] = s.execute(delete(OutboxItem).where(
            OutboxItem.status != PENDING, OutboxItem.created_at < cutoff,
            or_(OutboxItem.case_id.is_(None), OutboxItem.case_id.not_in(open_cases)))
            .execution_options(synchronize_session=False)).rowcount or 0
        done["delivery_failures"] = s.execute(delete(DeliveryFailure).where(DeliveryFailure.at < cutoff)
                                              .execution_options(synchronize_session=False)).rowcount or 0
        done["deletion_requests"] = s.execute(delete(DeletionRequest).where(
            DeletionRequest.done_at.is_not(None), DeletionRequest.done_at < cutoff)
            .execution_options(synchronize_session=False)).rowcount or 0
        inbox = Base.metadata.tables.get("channel_inbox")
        if inbox is not None:
            done["inbox"] = s.execute(delete(inbox).where(inbox.c.status == "done",
                                                          inbox.c.received_at < cutoff)).rowcount or 0
        marks = Base.metadata.tables.get("desk_tracker_marks")
        if marks is not None:
            claimed = select(Case.sender_id).where(Case.status == CLAIMED)
            done["tracker_marks"] = s.execute(delete(marks).where(marks.c.sender_id.not_in(claimed))).rowcount or 0
    return done


def _anonymise_old_cases(engine: Engine, cutoff: datetime, key: bytes) -> int:
    with session_factory(engine).begin() as s:
        ids = list(s.execute(select(Case.id).where(
            Case.status == RESOLVED, func.coalesce(Case.resolved_at, Case.updated_at) < cutoff,
            ~Case.sender_id.startswith(TOKEN_PREFIX)).order_by(Case.id).limit(BATCH)).scalars())
        if ids:
            anonymise_cases(s, ids, key)
        return len(ids)


def purge_old_conversations(tracker_engine: Engine, cutoff: datetime, keep: set[str]) -> int:
    """Delete tracker events older than `cutoff` by whole sessions, except the conversations in `keep`."""
    if not has_events_table(tracker_engine):
        return 0
    limit = cutoff.timestamp()
    removed = 0
    with tracker_engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT sender_id, MAX(timestamp) AS last, "
            "MAX(CASE WHEN type_name = 'session_started' THEN timestamp END) AS started "
            "FROM events WHERE sender_id IN (SELECT DISTINCT sender_id FROM events WHERE timestamp < :t) "
            "GROUP BY sender_id LIMIT :n"), {"t": limit, "n": BATCH}).all()
        for row in rows:
            if row.sender_id in keep:
                continue
            if row.last is not None and row.last < limit:
                upto, inclusive = row.last, True   # the whole conversation is older than the period
            elif row.started is not None:
                upto, inclusive = min(limit, row.started), False  # earlier sessions only
            else:
                continue
            op = "<=" if inclusive else "<"
            removed += conn.execute(text(f"DELETE FROM events WHERE sender_id = :s AND timestamp {op} :u"),
                                    {"s": row.sender_id, "u": upto}).rowcount or 0
    return removed

