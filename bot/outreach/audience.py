"""Who a broadcast reaches: active subscribers of its topic, province and channel, minus the residents it must spare.

Spared: a resident with an open or claimed case (unless a counselor allowed broadcasts to her,
`case_override_by`), and anyone with a deletion request (pending or carried out). The messaging windows are
not applied here: a subscriber outside the window is a recipient skipped at send time with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases.models import RESOLVED, Case
from bot.outreach.models import Subscription
from bot.privacy import DeletionRequest


@dataclass(frozen=True)
class Member:
    """One subscriber in a broadcast's audience."""

    sender_id: str
    channel: str
    province: str | None


def has_topic(topics: str | None, topic: str) -> bool:
    """True when a subscription's comma-separated topics include `topic`."""
    return topic in {t.strip() for t in (topics or "").split(",")}


def members(s: Session, *, topic: str, province: str | None, channel: str | None) -> list[Member]:
    """The audience now, in subscription order."""
    q = select(Subscription.sender_id, Subscription.channel, Subscription.province, Subscription.topics,
               Subscription.case_override_by).where(Subscription.active.is_(True))
    if province:
        q = q.where(Subscription.province == province)
    if channel:
        q = q.where(Subscription.channel == channel)
    rows = [r for r in s.execute(q.order_by(Subscription.id)).all() if has_topic(r.topics, topic)]
    if not rows:
        return []
    spared = spared_senders(s, [r.sender_id for r in rows if not r.case_override_by])
    deleting = deleting_senders(s, [r.sender_id for r in rows])
    return [Member(r.sender_id, r.channel, r.province) for r in rows
            if r.sender_id not in deleting and (r.case_override_by or r.sender_id not in spared)]


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def spared_senders(s: Session, sender_ids: list[str]) -> set[str]:
    """Those among `sender_ids` with an open or claimed case."""
    found: set[str] = set()
    for chunk in _chunks(sender_ids):
        found |= set(s.execute(select(Case.sender_id).where(Case.status != RESOLVED, Case.sender_id.in_(chunk))
                               .distinct()).scalars())
    return found


def deleting_senders(s: Session, sender_ids: list[str]) -> set[str]:
    """Those among `sender_ids` who asked for their data to be deleted."""
    found: set[str] = set()
    for chunk in _chunks(sender_ids):
        found |= set(s.execute(select(DeletionRequest.sender_id).where(DeletionRequest.sender_id.in_(chunk))
                               .distinct()).scalars())
    return found
