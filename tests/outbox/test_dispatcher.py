"""The one outbox's dispatcher: which rows it takes, whose leases it releases, what it forgets."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.db.engine import session_factory
from bot.outbox.dispatcher import Delivery, Dispatcher
from bot.outbox.enqueue import enqueue
from bot.outbox.models import OutboxItem
from bot.timeutil import ManualClock


def _queue(engine, key: str, kind: str, clock: ManualClock, payload: dict | None = None, **later) -> None:
    with session_factory(engine).begin() as s:
        enqueue(s, key=key, kind=kind, lane=f"lane:{key}", payload=payload or {"text": "x"},
                now=clock.now() + timedelta(**later) if later else clock.now())


def _rows(engine) -> dict[str, OutboxItem]:
    with session_factory(engine)() as s:
        return {r.dedup_key: r for r in s.query(OutboxItem)}


async def test_a_row_never_tried_is_due_whatever_clock_stamped_it(engine) -> None:
    clock, sent = ManualClock(), []

    async def deliver(d: Delivery) -> None:
        sent.append(d.id)

    _queue(engine, "ahead", "k", clock, minutes=10)       # another process's clock runs ahead
    _queue(engine, "retry", "k", clock)
    with session_factory(engine).begin() as s:            # a failed row waiting for its backoff
        s.execute(update(OutboxItem).where(OutboxItem.dedup_key == "retry")
                  .values(attempts=1, next_attempt_at=clock.now() + timedelta(minutes=5)))
    await Dispatcher(engine, clock, {"k": deliver}).drain()
    rows = _rows(engine)
    assert rows["ahead"].status == "sent" and sent == [rows["ahead"].id]
    assert rows["retry"].status == "pending"


async def test_only_the_handled_kinds_are_taken(engine) -> None:
    clock, seen = ManualClock(), []

    async def deliver(d: Delivery) -> None:
        seen.append(d.kind)

    _queue(engine, "mine", "bot_reply", clock)
    _queue(engine, "desk", "tg_card", clock)
    await Dispatcher(engine, clock, {"bot_reply": deliver}, owner="channels").drain()
    rows = _rows(engine)
    assert seen == ["bot_reply"]
    assert (rows["mine"].status, rows["desk"].status) == ("sent", "pending")


def test_release_leases_frees_only_this_owners_rows(engine) -> None:
    clock = ManualClock()
    _queue(engine, "a", "k", clock)
    _queue(engine, "b", "k", clock)
    with session_factory(engine).begin() as s:
        for key, owner in (("a", "w1"), ("b", "w2")):
            s.execute(update(OutboxItem).where(OutboxItem.dedup_key == key)
                      .values(lease_until=clock.now() + timedelta(minutes=1), lease_owner=owner))

    async def deliver(d: Delivery) -> None:
        return None

    Dispatcher(engine, clock, {"k": deliver}, owner="w1").release_leases()
    rows = _rows(engine)
    assert rows["a"].lease_until is None and rows["a"].lease_owner is None
    assert rows["b"].lease_owner == "w2" and rows["b"].lease_until is not None


async def test_finished_rows_of_private_kinds_forget_their_payload(engine) -> None:
    clock = ManualClock()

    async def deliver(d: Delivery) -> None:
        return None

    _queue(engine, "reply", "bot_reply", clock, {"text": "bí mật"})
    _queue(engine, "card", "tg_card", clock, {"case": 1})
    await Dispatcher(engine, clock, {"bot_reply": deliver, "tg_card": deliver},
                     forget_payload=frozenset({"bot_reply"})).drain()
    rows = _rows(engine)
    assert rows["reply"].payload == "{}" and rows["reply"].status == "sent"
    assert rows["card"].payload == '{"case": 1}'
