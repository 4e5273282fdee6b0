"""Writing outbox rows inside the caller's transaction; a key can be enqueued once only.

The Telegram rows of a danger-now case are queued with the danger priority, read from the case row in
the same session, so a burst of other work cannot hold them up (the dispatcher lifts a whole lane to
its most urgent pending row, so a card queued before the case turned dangerous is lifted too).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases.models import DANGER_NOW, Case
from bot.outbox.models import PENDING, PRIORITY_DANGER, PRIORITY_FLOOD, PRIORITY_NORMAL, OutboxItem

CARD = "tg_card"


def enqueue(s: Session, *, key: str, kind: str, lane: str, payload: dict[str, Any], now: datetime,
            case_id: int | None = None, priority: int = PRIORITY_NORMAL) -> bool:
    """Add an outbox row in the caller's transaction unless its key exists; True when added."""
    if s.execute(select(OutboxItem.id).where(OutboxItem.dedup_key == key)).first() is not None:
        return False
    s.add(OutboxItem(dedup_key=key, kind=kind, lane=lane, case_id=case_id,
                     payload=json.dumps(payload, ensure_ascii=False), status=PENDING, attempts=0,
                     next_attempt_at=now, created_at=now, priority=priority))
    return True


def case_priority(s: Session, case_id: int | None) -> int:
    """The priority of a case's Telegram rows: danger-now cases first, cases opened during a flood last."""
    case = s.get(Case, case_id) if case_id is not None else None
    if case is not None and case.urgency == DANGER_NOW:
        return PRIORITY_DANGER
    return PRIORITY_FLOOD if case is not None and case.flood else PRIORITY_NORMAL


def queue_card(s: Session, case_id: int, now: datetime) -> bool:
    """Queue the counselors' card of a new case (rendered from the case row when it is sent)."""
    return enqueue(s, key=f"card:{case_id}", kind=CARD, lane=f"tg:{case_id}", case_id=case_id, payload={}, now=now,
                   priority=case_priority(s, case_id))


def queue_forward(s: Session, ev: Any, now: datetime) -> None:
    """Queue the Telegram message for a resident message or urgency change (idempotent per event)."""
    priority = case_priority(s, ev.case_id)
    if ev.kind == "urgency_raised":
        enqueue(s, key=f"refresh:{ev.case_id}:{ev.id}", kind="tg_refresh", lane=f"tg:{ev.case_id}",
                case_id=ev.case_id, payload={}, now=now, priority=priority)
    else:
        enqueue(s, key=f"fwd:{ev.id}", kind="tg_forward", lane=f"tg:{ev.case_id}", case_id=ev.case_id,
                payload={"event_id": ev.id}, now=now, priority=priority)
