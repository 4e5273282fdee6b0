"""How the desk writes: transactions retried while SQLite is busy, and the outbox rows its changes queue.

Every row is written in the caller's transaction, under a key derived from the change that caused it,
so a change can never queue two deliveries. Telegram rows have one lane per case (the supervisor's
chat its own lane, so it can never hold up the group), with the danger priority for danger-now cases.
A resident has two lanes, each in order: `res:<sender>` for the pushes to their channel and
`rasa:<sender>` for the writes to their Rasa conversation, so Rasa being down or refusing the token
never holds up a counselor's message; both carry the resident priority.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.cases.models import Case
from bot.desk.rasa import bot_event
from bot.outbox.enqueue import case_priority, enqueue
from bot.outbox.models import PRIORITY_RESIDENT
from bot.senders import PUSH_CHANNELS

T = TypeVar("T")


def with_retry(fn: Callable[[], T], attempts: int = 6) -> T:
    """Run a database transaction, retrying when SQLite reports it is busy."""
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if attempt == attempts - 1 or not any(w in str(exc).lower() for w in ("locked", "busy")):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def push_lane(sender_id: str) -> str:
    """The lane of the messages pushed to a resident's channel."""
    return f"res:{sender_id}"


def transcript_lane(sender_id: str) -> str:
    """The lane of the writes to a resident's Rasa conversation (reported on /health as `transcript`)."""
    return f"rasa:{sender_id}"


def queue_telegram(s: Session, *, enabled: bool, key: str, kind: str, case_id: int, payload: dict[str, Any],
                   now: datetime) -> None:
    """Queue a message for the counselors' group or the supervisor (nothing when notifications are off)."""
    if not enabled:
        return
    supervisor = kind == "tg_supervisor_card" or payload.get("chat") == "supervisor"
    enqueue(s, key=key, kind=kind, lane=f"{'tgs' if supervisor else 'tg'}:{case_id}", case_id=case_id,
            payload=payload, now=now, priority=case_priority(s, case_id))


def queue_rasa(s: Session, case: Case, key: str, events: list[dict[str, Any]], now: datetime) -> None:
    """Queue events for the resident's Rasa conversation (pause, resume, messages)."""
    enqueue(s, key=key, kind="rasa_events", lane=transcript_lane(case.sender_id), case_id=case.id, now=now,
            payload={"sender_id": case.sender_id, "events": events}, priority=PRIORITY_RESIDENT)


def queue_resident(s: Session, case: Case, key: str, text: str, source: str, *, by_human: bool,
                   now: datetime) -> None:
    """Queue a message to the resident: pushed on their channel, and added to the Rasa transcript."""
    if case.channel in PUSH_CHANNELS:
        enqueue(s, key=f"{key}:push", kind="resident_push", lane=push_lane(case.sender_id), case_id=case.id,
                now=now, payload={"sender_id": case.sender_id, "text": text, "by_human": by_human},
                priority=PRIORITY_RESIDENT)
    queue_rasa(s, case, f"{key}:rasa", [bot_event(text, case.id, source, now, f"{key}:rasa")], now)
