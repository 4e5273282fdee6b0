"""Erasing one resident from the project database and from Rasa's tracker store; shared by deletion and retention.

What it guarantees:
- a CLOSED (resolved) case is anonymised, never deleted: its text and its events' text become `ERASED`, its
  sender id (and every copy of it) becomes `anonymous_token(key, sender_id)`, stable and not reversible without
  the key, so counts per resident still work; its Telegram cards are queued for a refresh that re-renders them;
- an OPEN case (open or claimed), its events, its outbox rows and the conversation in the tracker store are
  left alone: the counselor needs them until the case is resolved (`Erasure.kept` says so);
- a row still in flight (an unfinished channel inbox row, a pending outbox row on the resident's lanes) is never
  touched, so no accepted message and no reply (the hotline reply included) is lost; it is reported in `kept`;
- everything else that names the sender or holds her text is deleted (review items, tracker marks) or
  anonymised in place (delivery failures, finished inbox rows, finished outbox rows), so unique keys survive;
- outreach: her subscription and her poll answers are deleted at once (even while a case is open, so no later
  broadcast picks her); her finished broadcast recipients and their outbox rows carry the token instead of her
  id (campaign counts survive); a recipient still pending is left to its broadcast and reported in `kept`.

Tables of the apps (`channel_inbox`, `desk_tg_messages`, `desk_tracker_marks`) are reached through
`Base.metadata` when registered (a domain module does not import an app).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Table, delete, func, inspect, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.cases.models import RESOLVED, Case, CaseEvent
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.outbox.enqueue import enqueue
from bot.outbox.models import PENDING, DeliveryFailure, OutboxItem
from bot.outreach.models import BROADCAST_KIND, R_PENDING, Broadcast, BroadcastRecipient, PollAnswer, Subscription
from bot.outreach.polls import voter_token
from bot.review_queue import ReviewItem
from bot.timeutil import utcnow

ERASED = "[đã xóa]"  # what counselors see in place of erased text
TOKEN_PREFIX = "anon:"
RESIDENT_LANES = ("reply", "res", "rasa")  # outbox lanes named after a resident: `<prefix>:<sender id>`
# Case events whose detail is structural (reasons, urgency, "console"/"telegram", delivery errors); every
# other kind (resident_message, counselor_reply, note, and any kind added later) has its detail erased.
STRUCTURAL_EVENTS = frozenset({"created", "urgency_raised", "claimed", "resolved", "notified", "reescalated",
                               "flagged_stale", "delivery_failed"})
OPEN_CASE, IN_FLIGHT = "open_case", "in_flight"


def anonymous_token(key: bytes, value: str) -> str:
    """A stable, non-reversible stand-in for a sender id (or any identifier), keyed by a secret."""
    if value.startswith(TOKEN_PREFIX):
        return value
    return TOKEN_PREFIX + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


@dataclass
class Erasure:
    """What one pass removed (rows changed or deleted) and what it had to keep, by reason."""

    removed: int = 0
    kept: set[str] = field(default_factory=set)


def _table(name: str) -> Table | None:
    return Base.metadata.tables.get(name)


def resident_lanes(sender_id: str) -> list[str]:
    """The outbox lanes that carry a resident's own deliveries."""
    return [f"{prefix}:{sender_id}" for prefix in RESIDENT_LANES]


def open_case_senders(engine: Engine, senders: Iterable[str] | None = None) -> set[str]:
    """Senders that have an unresolved case (optionally only among `senders`)."""
    q = select(Case.sender_id).where(Case.status != RESOLVED)
    if senders is not None:
        q = q.where(Case.sender_id.in_(list(senders)))
    with session_factory(engine)() as s:
        return set(s.execute(q.distinct()).scalars())


def anonymise_cases(s: Session, case_ids: list[int], key: bytes) -> int:
    """Anonymise resolved cases, their events, outbox rows and Telegram cards; returns rows changed."""
    changed = 0
    for case in s.execute(select(Case).where(Case.id.in_(case_ids), Case.status == RESOLVED)).scalars():
        sender = case.sender_id
        case.message = ERASED
        case.outcome_note = ERASED if case.outcome_note else case.outcome_note  # a counselor's free text
        case.sender_id = anonymous_token(key, sender)
        case.message_id = anonymous_token(key, case.message_id) if case.message_id else None
        changed += 1
        changed += s.execute(update(CaseEvent).where(CaseEvent.case_id == case.id,
                                                     CaseEvent.kind.not_in(STRUCTURAL_EVENTS),
                                                     CaseEvent.detail != ERASED)
                             .values(detail=ERASED).execution_options(synchronize_session=False)).rowcount or 0
        changed += s.execute(update(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.actor == sender)
                             .values(actor=case.sender_id).execution_options(synchronize_session=False)).rowcount or 0
        for ev in s.execute(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.message_id.is_not(None))).scalars():
            ev.message_id = anonymous_token(key, ev.message_id)  # a joined message's channel id
        changed += _forget_outbox(s, OutboxItem.case_id == case.id, key, sender)
        _refresh_cards(s, case.id)
    return changed


def _refresh_cards(s: Session, case_id: int) -> None:
    """Queue a re-render of the case's cards in Telegram, which now show `ERASED` instead of her text."""
    posted = _table("desk_tg_messages")
    if posted is None or s.execute(select(posted.c.id).where(posted.c.case_id == case_id).limit(1)).first() is None:
        return
    now = utcnow()
    enqueue(s, key=f"erased:{case_id}", kind="tg_refresh", lane=f"tg:{case_id}", case_id=case_id, payload={},
            now=now)


def _forget_outbox(s: Session, where, key: bytes, sender_id: str) -> int:
    """Finished rows matching `where` lose their payload; a lane or key naming the resident is tokenised."""
    count = 0
    for row in s.execute(select(OutboxItem).where(where, OutboxItem.status != PENDING)).scalars():
        prefix, sep, rest = row.lane.partition(":")
        lane = f"{prefix}:{anonymous_token(key, rest)}" if sep and prefix in RESIDENT_LANES else row.lane
        # Only a bot reply's key comes from the platform event (the desk's keys are made of case and event ids).
        dedup = tokenised_key(key, row.dedup_key, sender_id) if row.kind == "bot_reply" else row.dedup_key
        if row.payload != "{}" or lane != row.lane or dedup != row.dedup_key:
            row.payload, row.lane, row.dedup_key = "{}", lane, dedup
            count += 1
    return count


def tokenised_key(key: bytes, value: str, sender_id: str) -> str:
    """A platform event key with the resident's platform id as one of its parts (Zalo follow events) becomes a token."""
    platform_id = sender_id.partition(":")[2] or sender_id
    return anonymous_token(key, value) if platform_id in value.split(":") else value


def erase_sender(engine: Engine, sender_id: str, key: bytes, up_to: datetime) -> Erasure:
    """Erase what one sender left up to a moment, keeping her open case and anything still in flight."""
    result = Erasure()
    token = anonymous_token(key, sender_id)
    with session_factory(engine).begin() as s:
        cases = s.execute(select(Case.id, Case.status).where(Case.sender_id == sender_id,
                                                             Case.created_at <= up_to)).all()
        open_ids = [c.id for c in cases if c.status != RESOLVED]
        if open_ids:
            result.kept.add(OPEN_CASE)
        result.removed += s.execute(delete(ReviewItem).where(ReviewItem.sender_id == sender_id,
                                                             ReviewItem.created_at <= up_to)
                                    .execution_options(synchronize_session=False)).rowcount or 0
        result.removed += s.execute(update(DeliveryFailure).where(DeliveryFailure.sender_id == sender_id,
                                                                  DeliveryFailure.at <= up_to)
                                    .values(sender_id=token)).rowcount or 0
        result.removed += _anonymise_inbox(s, sender_id, token, up_to, result, key)
        mine = (OutboxItem.lane.in_(resident_lanes(sender_id)) & (OutboxItem.created_at <= up_to)
                & or_(OutboxItem.case_id.is_(None), OutboxItem.case_id.not_in(open_ids)))
        if s.execute(select(func.count()).select_from(OutboxItem)
                     .where(mine, OutboxItem.status == PENDING)).scalar_one():
            result.kept.add(IN_FLIGHT)
        result.removed += _forget_outbox(s, mine, key, sender_id)
        result.removed += anonymise_cases(s, [c.id for c in cases if c.status == RESOLVED], key)
        result.removed += _erase_outreach(s, sender_id, token, key, result)
        marks = _table("desk_tracker_marks")
        if marks is not None and not open_ids:
            result.removed += s.execute(delete(marks).where(marks.c.sender_id == sender_id)).rowcount or 0
    return result


def _erase_outreach(s: Session, sender_id: str, token: str, key: bytes, result: Erasure) -> int:
    """Delete her subscription and poll answers; her finished recipients and their outbox rows get the token."""
    count = s.execute(delete(Subscription).where(Subscription.sender_id == sender_id)
                      .execution_options(synchronize_session=False)).rowcount or 0
    polls = list(s.execute(select(Broadcast.id).where(Broadcast.poll_question.is_not(None))).scalars())
    if polls:  # a voter is a per-poll HMAC: recomputed here, it is stored nowhere else
        voters = [voter_token(key, poll, sender_id) for poll in polls]
        count += s.execute(delete(PollAnswer).where(PollAnswer.voter.in_(voters))
                           .execution_options(synchronize_session=False)).rowcount or 0
    for row in s.execute(select(BroadcastRecipient).where(BroadcastRecipient.sender_id == sender_id)).scalars():
        dedup = f"bc:{row.broadcast_id}:{sender_id}"
        sent = s.execute(select(OutboxItem).where(OutboxItem.kind == BROADCAST_KIND,
                                                  OutboxItem.dedup_key == dedup)).scalar_one_or_none()
        if row.status == R_PENDING or (sent is not None and sent.status == PENDING):
            result.kept.add(IN_FLIGHT)  # its broadcast finishes it (sent, or skipped as deleted); the next pass
            continue
        row.sender_id = token
        if sent is not None:
            sent.dedup_key, sent.payload = f"bc:{row.broadcast_id}:{token}", "{}"
            sent.lane = sent.lane.replace(sender_id, token)
        count += 1
    return count


def _anonymise_inbox(s: Session, sender_id: str, token: str, up_to: datetime, result: Erasure, key: bytes) -> int:
    inbox = _table("channel_inbox")
    if inbox is None:
        return 0
    mine = (inbox.c.sender_id == sender_id) & (inbox.c.received_at <= up_to)
    if s.execute(select(func.count()).select_from(inbox).where(mine, inbox.c.status != "done")).scalar_one():
        result.kept.add(IN_FLIGHT)
    count = 0
    for row_id, row_key in s.execute(select(inbox.c.id, inbox.c.key).where(mine, inbox.c.status == "done")).all():
        s.execute(update(inbox).where(inbox.c.id == row_id).values(
            sender_id=token, key=tokenised_key(key, row_key, sender_id), text=None, data=None))
        count += 1
    return count


def has_events_table(tracker_engine: Engine) -> bool:
    """Whether Rasa has created its `events` table yet."""
    return inspect(tracker_engine).has_table("events")


def delete_tracker_events(tracker_engine: Engine, sender_id: str, up_to: float | None = None) -> int:
    """Delete a conversation's events (every session), or only those stamped at or before `up_to` (epoch)."""
    if not has_events_table(tracker_engine):
        return 0
    sql = "DELETE FROM events WHERE sender_id = :s" + ("" if up_to is None else " AND timestamp <= :t")
    with tracker_engine.begin() as conn:
        return conn.execute(text(sql), {"s": sender_id, "t": up_to}).rowcount or 0
