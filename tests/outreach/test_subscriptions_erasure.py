"""Erasing a resident: no subscription and no poll answer left, recipients anonymised, broadcasts in flight kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.db.engine import session_factory
from bot.erasure import IN_FLIGHT, anonymous_token, erase_sender
from bot.outbox.enqueue import enqueue
from bot.outbox.models import SENT, OutboxItem
from bot.outreach.models import (
    BROADCAST_KIND,
    DONE,
    R_PENDING,
    R_SENT,
    TOPIC_NEWS,
    Broadcast,
    BroadcastRecipient,
    PollAnswer,
    Subscription,
)
from bot.outreach.polls import record_answer
from bot.outreach.subscriptions import get_subscription, subscribe

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
KEY = b"s" * 32
ME, OTHER = "zalo:111", "zalo:222"


def _broadcast(s, poll: bool = True) -> int:
    b = Broadcast(text="Tin", buttons=json.dumps(["Có", "Không"]), poll_question="Bạn có tham gia?" if poll else None,
                  start_at=T0, state=DONE, created_by="an")
    s.add(b)
    s.flush()
    return b.id


def _recipient(s, bid: int, sender: str, status: str = R_SENT) -> None:
    s.add(BroadcastRecipient(broadcast_id=bid, sender_id=sender, channel="zalo", province="Huế", status=status,
                             at=T0))
    enqueue(s, key=f"bc:{bid}:{sender}", kind=BROADCAST_KIND, lane=f"bc:{sender}", payload={"text": "Tin"},
            now=T0)
    s.flush()
    if status == R_SENT:
        s.execute(select(OutboxItem).where(OutboxItem.dedup_key == f"bc:{bid}:{sender}")).scalar_one().status = SENT


def test_erasure_leaves_no_subscription_nor_poll_answer_and_anonymises_recipients(engine) -> None:
    for sender in (ME, OTHER):
        subscribe(engine, sender, [TOPIC_NEWS], None, "Đồng ý nhận tin", T0)
    with session_factory(engine).begin() as s:
        poll = _broadcast(s)
        for sender in (ME, OTHER):
            _recipient(s, poll, sender)
    for sender in (ME, OTHER):
        assert record_answer(engine, poll, sender, 0, KEY, T0)

    result = erase_sender(engine, ME, KEY, T0 + timedelta(minutes=1))

    assert get_subscription(engine, ME) is None
    assert get_subscription(engine, OTHER) is not None  # only hers
    token = anonymous_token(KEY, ME)
    with session_factory(engine)() as s:
        assert s.query(PollAnswer).count() == 1  # the other resident's answer stays
        recipients = {r.sender_id for r in s.query(BroadcastRecipient)}
        assert recipients == {token, OTHER}
        rows = {r.dedup_key: r for r in s.query(OutboxItem).where(OutboxItem.kind == BROADCAST_KIND)}
        mine = rows[f"bc:{poll}:{token}"]
        assert mine.payload == "{}" and ME not in mine.lane
        assert f"bc:{poll}:{OTHER}" in rows
        everything = " ".join(str(v) for r in s.query(Subscription) for v in (r.sender_id, r.consent_text))
        assert ME not in everything
    assert IN_FLIGHT not in result.kept and result.removed >= 3


def test_a_broadcast_still_on_its_way_is_kept_until_it_is_finished(engine) -> None:
    subscribe(engine, ME, [TOPIC_NEWS], None, "Đồng ý nhận tin", T0)
    with session_factory(engine).begin() as s:
        bid = _broadcast(s, poll=False)
        _recipient(s, bid, ME, status=R_PENDING)

    result = erase_sender(engine, ME, KEY, T0 + timedelta(minutes=1))

    assert IN_FLIGHT in result.kept
    assert get_subscription(engine, ME) is None  # no new broadcast will pick her
    with session_factory(engine)() as s:
        assert s.execute(select(BroadcastRecipient.sender_id)).scalar_one() == ME
        assert s.execute(select(OutboxItem.dedup_key)).scalar_one() == f"bc:{bid}:{ME}"
