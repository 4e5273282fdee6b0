"""Short polls carried by a broadcast: anonymous answers, one per voter, results only for large enough groups.

Guarantees: an answer is stored under a voter token, an HMAC of the poll and the sender id keyed by the
project's anonymous-token key (`bot.retention.PrivacySettings.token_key`), never under the sender id; the
token differs from poll to poll and from the tokens erasure writes, so answers cannot be linked to each
other, to a case or to a recipient row; one voter has one answer per poll (a later answer replaces it);
`poll_results` hides every count while fewer than `min_group` people answered; a poll is open for a
sender for `OPEN_FOR` after the broadcast reached them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.db.engine import session_factory
from bot.outreach.models import R_SENT, Broadcast, BroadcastRecipient, PollAnswer, Subscription
from bot.senders import channel_of

OPEN_FOR = timedelta(days=3)   # how long after delivery a resident's answer still counts
MAX_OPTIONS = 4                # quick replies /poll_option_1 … /poll_option_4
MIN_GROUP = 10                 # no result is shown for fewer answers (issue 12, item 6)


@dataclass(frozen=True)
class PollOption:
    """One answer of a poll and how many chose it (None while the group is too small to show)."""

    label: str
    count: int | None


@dataclass(frozen=True)
class PollResult:
    """A poll's question, its options with counts, and how many answered."""

    broadcast_id: int
    question: str
    options: tuple[PollOption, ...]
    total: int

    @property
    def shown(self) -> bool:
        """Whether the counts are shown (enough people answered)."""
        return all(o.count is not None for o in self.options)


def voter_token(key: bytes, broadcast_id: int, sender_id: str) -> str:
    """The anonymous voter of one sender in one poll (64 hex characters)."""
    return hmac.new(key, f"poll:{broadcast_id}:{sender_id}".encode(), hashlib.sha256).hexdigest()


def poll_options(buttons_json: str | None) -> list[str]:
    """A broadcast's poll answers from its `buttons` column (bad JSON reads as no options)."""
    try:
        labels = json.loads(buttons_json or "[]")
    except ValueError:
        return []
    return [str(b) for b in labels if isinstance(b, str)][:MAX_OPTIONS] if isinstance(labels, list) else []


def record_answer(engine: Engine, broadcast_id: int, sender_id: str, option: int, key: bytes,
                  now: datetime) -> bool:
    """Store one answer (0-based option); a voter's later answer replaces the earlier. False when not a valid answer."""
    voter = voter_token(key, broadcast_id, sender_id)
    with session_factory(engine).begin() as s:
        poll = s.get(Broadcast, broadcast_id)
        if poll is None or not poll.poll_question or not 0 <= option < len(poll_options(poll.buttons)):
            return False
        province = s.execute(select(BroadcastRecipient.province).where(
            BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.sender_id == sender_id)).scalar()
        if province is None:
            province = s.execute(select(Subscription.province)
                                 .where(Subscription.sender_id == sender_id)).scalar()
        row = s.execute(select(PollAnswer).where(PollAnswer.broadcast_id == broadcast_id,
                                                 PollAnswer.voter == voter)).scalar_one_or_none()
        if row is None:
            s.add(PollAnswer(broadcast_id=broadcast_id, voter=voter, option=option, province=province,
                             channel=channel_of(sender_id), answered_at=now))
        else:
            row.option, row.answered_at = option, now
    return True


def poll_results(engine: Engine, broadcast_id: int, min_group: int = MIN_GROUP) -> PollResult:
    """The poll's counts per option; every count is None while fewer than `min_group` answered.

    Raises LookupError when the broadcast does not exist or carries no poll.
    """
    with engine.connect() as conn:
        poll = conn.execute(select(Broadcast.poll_question, Broadcast.buttons)
                            .where(Broadcast.id == broadcast_id)).first()
        if poll is None or not poll.poll_question:
            raise LookupError(f"broadcast {broadcast_id} has no poll")
        counts = dict(conn.execute(select(PollAnswer.option, func.count()).where(
            PollAnswer.broadcast_id == broadcast_id).group_by(PollAnswer.option)).all())
    labels = poll_options(poll.buttons)
    total = sum(counts.get(i, 0) for i in range(len(labels)))
    shown = total >= min_group
    options = tuple(PollOption(label, counts.get(i, 0) if shown else None) for i, label in enumerate(labels))
    return PollResult(broadcast_id, poll.poll_question, options, total)


def latest_open_poll(engine: Engine, sender_id: str, now: datetime) -> tuple[int, list[str]] | None:
    """The newest poll delivered to this sender within OPEN_FOR: (broadcast id, option labels), or None."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Broadcast.id, Broadcast.buttons)
            .join(BroadcastRecipient, BroadcastRecipient.broadcast_id == Broadcast.id)
            .where(BroadcastRecipient.sender_id == sender_id, BroadcastRecipient.status == R_SENT,
                   BroadcastRecipient.at >= now - OPEN_FOR, BroadcastRecipient.at <= now + timedelta(minutes=5),
                   Broadcast.poll_question.is_not(None), Broadcast.poll_question != "")
            .order_by(BroadcastRecipient.at.desc(), Broadcast.id.desc()).limit(5)).all()
    for row in rows:
        options = poll_options(row.buttons)
        if options:
            return row.id, options
    return None
