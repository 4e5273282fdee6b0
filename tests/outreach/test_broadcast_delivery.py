"""Broadcasts delivered on the fake platforms: the right people once, skipped reasons, quiet hours, cancel, 429s."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine

from bot.cases.store import CaseRequest, CaseStore
from bot.content.library import Library
from bot.db.engine import session_factory
from bot.outbox.models import OutboxItem
from bot.outreach import broadcasts as bc
from bot.outreach.models import (
    CANCELLED,
    SKIP_CANCELLED,
    SKIP_DELETED,
    SKIP_EXPIRED,
    SKIP_OPEN_CASE,
    SKIP_OUTSIDE_WINDOW,
    SKIP_QUIET_HOURS,
    SKIP_UNSUBSCRIBED,
    BroadcastRecipient,
    Subscription,
)
from bot.outreach.scheduler import finish_done, start_broadcast
from bot.privacy import request_deletion
from bot.timeutil import UTC, VN_TZ
from tests.outreach.helpers import (
    RunningClock,
    add_sub,
    broadcast_dispatcher,
    deliver_until_done,
    recipients,
)

FIRST_LINE = "Hội LHPN tỉnh Gia Lai – Tháng hành động vì bình đẳng giới"


def approved(engine: Engine, library: Library, now: datetime, **kw) -> int:
    values = {"text": "Mời bạn tham gia ngày hội của Tháng hành động.", "start_at": now, "province": "Gia Lai",
              "quiet_hours": "21:00-07:00"}
    values.update(kw)
    broadcast_id = bc.create(engine, bc.Draft(**values), "an", library, now)
    bc.approve(engine, broadcast_id, "binh", now)
    return broadcast_id


async def test_province_broadcast_reaches_exactly_its_subscribers_once_on_every_channel(
        staffed: Engine, library: Library, http, telegram, graph, zalo) -> None:
    for sender in ("telegram:101", "messenger:psid-1", "zalo:u-1"):
        add_sub(staffed, sender, province="Gia Lai")
    add_sub(staffed, "telegram:102", province="Huế")
    add_sub(staffed, "zalo:u-2", province="Gia Lai", topics="events")
    add_sub(staffed, "messenger:psid-2", province=None)
    clock = RunningClock()
    broadcast_id = approved(staffed, library, clock.now(), poll_question="Bạn sẽ tham gia chứ?",
                            buttons=["Có", "Chưa chắc"])
    assert start_broadcast(staffed, broadcast_id, clock.now()) == 3
    assert start_broadcast(staffed, broadcast_id, clock.now()) is None  # a second pass starts nothing
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, zalo=zalo, graph=graph, telegram=telegram)
    await deliver_until_done(dispatcher, staffed)

    assert telegram.per_chat() == {"101": 1}
    assert graph.per_recipient() == {"psid-1": 1}
    assert zalo.per_recipient() == {"u-1": 1}
    tg_message = telegram.sent("101")[0]
    assert tg_message.text.split("\n")[0] == FIRST_LINE
    assert [(b["text"], b["callback_data"]) for b in tg_message.buttons()] == [
        ("Có", "/poll_option_1"), ("Chưa chắc", "/poll_option_2"), ("Dừng nhận tin", "/unsubscribe")]
    fb_message = graph.delivered[0].body["message"]
    assert fb_message["text"].split("\n")[0] == FIRST_LINE
    assert [q["payload"] for q in fb_message["quick_replies"]] == ["/poll_option_1", "/poll_option_2",
                                                                    "/unsubscribe"]
    zalo_text = zalo.delivered_texts("u-1")[0]
    assert zalo_text.split("\n")[0] == FIRST_LINE and "1. Có\n2. Chưa chắc" in zalo_text
    assert "hủy đăng ký" in zalo_text.rsplit("\n", 1)[-1]
    for text in (tg_message.text, fb_message["text"], zalo_text):
        assert "Mời bạn tham gia ngày hội" in text
    assert finish_done(staffed, clock.now()) == [broadcast_id]
    assert bc.status(staffed, broadcast_id).as_json() == {"state": "done", "recipients": 3, "sent": 3, "failed": 0,
                                                          "skipped": {}}


async def test_send_time_checks_skip_with_their_reasons(staffed: Engine, library: Library, http, telegram,
                                                        graph) -> None:
    clock = RunningClock()
    now = clock.now()
    for n in range(1, 6):
        add_sub(staffed, f"telegram:{n}")
    add_sub(staffed, "messenger:old", last_inbound_at=now - timedelta(hours=30))  # outside Messenger's 24 h
    add_sub(staffed, "messenger:fresh", last_inbound_at=now - timedelta(hours=2))
    broadcast_id = approved(staffed, library, now)
    assert start_broadcast(staffed, broadcast_id, now) == 7
    # Between the snapshot and the send: one unsubscribes, one gets a case, one asks for deletion.
    with session_factory(staffed).begin() as s:
        s.execute(update(Subscription).where(Subscription.sender_id == "telegram:2").values(active=False))
    CaseStore(staffed).open_case(CaseRequest(channel="telegram", sender_id="telegram:3", urgency="needs_support",
                                             message="cần giúp", reasons=("test",), province="Gia Lai"))
    request_deletion(staffed, "telegram:4", now)
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, graph=graph, telegram=telegram)
    await deliver_until_done(dispatcher, staffed)

    got = recipients(staffed, broadcast_id)
    assert got == {"telegram:1": ("sent", None), "telegram:2": ("skipped", SKIP_UNSUBSCRIBED),
                   "telegram:3": ("skipped", SKIP_OPEN_CASE), "telegram:4": ("skipped", SKIP_DELETED),
                   "telegram:5": ("sent", None), "messenger:old": ("skipped", SKIP_OUTSIDE_WINDOW),
                   "messenger:fresh": ("sent", None)}
    assert telegram.per_chat() == {"1": 1, "5": 1} and graph.per_recipient() == {"fresh": 1}
    st = bc.status(staffed, broadcast_id)
    assert st.skipped == {SKIP_UNSUBSCRIBED: 1, SKIP_OPEN_CASE: 1, SKIP_DELETED: 1, SKIP_OUTSIDE_WINDOW: 1}
    assert (st.sent, st.failed, st.pending) == (3, 0, 0)


async def test_platform_window_refusal_is_a_skip_not_a_failure(staffed: Engine, library: Library, http,
                                                               zalo) -> None:
    clock = RunningClock()
    add_sub(staffed, "zalo:in")
    add_sub(staffed, "zalo:out")
    zalo.close_window("out")  # the platform knows better than our record: -230
    broadcast_id = approved(staffed, library, clock.now(), channel="zalo")
    start_broadcast(staffed, broadcast_id, clock.now())
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, zalo=zalo)
    await deliver_until_done(dispatcher, staffed)
    assert recipients(staffed, broadcast_id) == {"zalo:in": ("sent", None),
                                                 "zalo:out": ("skipped", SKIP_OUTSIDE_WINDOW)}


async def test_quiet_hours_hold_the_broadcast_until_morning_or_skip_when_it_would_end_first(
        staffed: Engine, library: Library, http, telegram, graph) -> None:
    evening = datetime(2026, 11, 25, 22, 0, tzinfo=VN_TZ).astimezone(UTC)
    clock = RunningClock(evening)
    add_sub(staffed, "telegram:1", now=evening)
    add_sub(staffed, "messenger:late", now=evening, last_inbound_at=evening - timedelta(hours=20))  # closes 02:00
    broadcast_id = approved(staffed, library, evening)
    start_broadcast(staffed, broadcast_id, evening)
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, graph=graph, telegram=telegram)
    await dispatcher.drain(timeout=5)
    assert telegram.per_chat() == {} and graph.per_recipient() == {}
    assert recipients(staffed, broadcast_id) == {"telegram:1": ("pending", None),
                                                 "messenger:late": ("skipped", SKIP_QUIET_HOURS)}
    row = dispatcher.pending("bc:")[0]
    morning = datetime(2026, 11, 26, 7, 0, tzinfo=VN_TZ).astimezone(UTC)
    assert abs((row.next_attempt_at.replace(tzinfo=UTC) - morning).total_seconds()) < 60  # waits until 07:00
    assert row.attempts == 1
    clock.advance(hours=9, minutes=1)  # 07:01 the next morning
    await deliver_until_done(dispatcher, staffed)
    assert telegram.per_chat() == {"1": 1}
    assert recipients(staffed, broadcast_id)["telegram:1"] == ("sent", None)


async def test_quiet_hours_past_the_end_time_skip(staffed: Engine, library: Library, http, telegram) -> None:
    evening = datetime(2026, 11, 25, 20, 0, tzinfo=VN_TZ).astimezone(UTC)
    clock = RunningClock(evening)
    add_sub(staffed, "telegram:1", now=evening)
    add_sub(staffed, "telegram:2", now=evening)
    broadcast_id = approved(staffed, library, evening, end_at=evening + timedelta(hours=5))
    start_broadcast(staffed, broadcast_id, evening)
    clock.advance(hours=1, minutes=30)  # 21:30: quiet until 07:00, after the 01:00 end
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, telegram=telegram)
    await dispatcher.drain(timeout=5)
    assert {v for v in recipients(staffed, broadcast_id).values()} == {("skipped", SKIP_QUIET_HOURS)}
    assert telegram.per_chat() == {}


async def test_expired_broadcast_skips_the_rest(staffed: Engine, library: Library, http, telegram) -> None:
    clock = RunningClock()
    add_sub(staffed, "telegram:1")
    broadcast_id = approved(staffed, library, clock.now(), end_at=clock.now() + timedelta(minutes=30))
    start_broadcast(staffed, broadcast_id, clock.now())
    clock.advance(hours=1)
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, telegram=telegram)
    await deliver_until_done(dispatcher, staffed)
    assert recipients(staffed, broadcast_id) == {"telegram:1": ("skipped", SKIP_EXPIRED)}


async def test_cancel_mid_way_stops_within_seconds_and_nobody_gets_two(staffed: Engine, library: Library, http,
                                                                       telegram) -> None:
    clock = RunningClock()
    for n in range(60):
        add_sub(staffed, f"telegram:{1000 + n}")
    broadcast_id = approved(staffed, library, clock.now())
    start_broadcast(staffed, broadcast_id, clock.now())
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, telegram=telegram, rates={"telegram": 10.0})
    runner = asyncio.create_task(dispatcher.run_forever(0.05))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if sum(telegram.per_chat().values()) >= 10:
                break
        bc.cancel(staffed, broadcast_id, "binh", clock.now())
        at_cancel = sum(telegram.per_chat().values())
        await asyncio.sleep(2.0)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    sent = sum(telegram.per_chat().values())
    assert sent <= at_cancel + 8  # at most the deliveries already under way finish
    assert set(telegram.per_chat().values()) == {1}
    st = bc.status(staffed, broadcast_id)
    assert st.state == CANCELLED and st.sent == sent and st.pending == 0
    assert st.skipped == {SKIP_CANCELLED: 60 - sent}


async def test_429_storm_on_telegram_delays_but_never_drops_or_duplicates(staffed: Engine, library: Library, http,
                                                                          telegram) -> None:
    clock = RunningClock()
    for n in range(12):
        add_sub(staffed, f"telegram:{2000 + n}")
    telegram.limit_rate(4, retry_after=1)  # the platform allows far less than our configured 25/s
    broadcast_id = approved(staffed, library, clock.now())
    start_broadcast(staffed, broadcast_id, clock.now())
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, telegram=telegram)
    await deliver_until_done(dispatcher, staffed, timeout=40)
    assert telegram.pace.refused > 0, "the storm happened"
    assert telegram.per_chat() == {str(2000 + n): 1 for n in range(12)}
    assert bc.status(staffed, broadcast_id).as_json()["sent"] == 12
    # retry_after was honoured: no retried chat was asked again within a second of its 429.
    by_chat: dict[str, list[tuple[float, str]]] = {}
    for rec in telegram.calls("sendMessage", outcome=None):
        by_chat.setdefault(str(rec.params.get("chat_id")), []).append((rec.at, rec.outcome))
    for calls in by_chat.values():
        for (at, outcome), (next_at, _) in zip(calls, calls[1:]):
            assert outcome == "rate_limited" and next_at - at >= 0.95


async def test_graph_rate_limit_is_a_long_wait_then_delivered_once(staffed: Engine, library: Library, http,
                                                                   graph) -> None:
    clock = RunningClock()
    for n in range(6):
        add_sub(staffed, f"messenger:p{n}")
    graph.limit_rate(3)
    broadcast_id = approved(staffed, library, clock.now(), channel="messenger")
    start_broadcast(staffed, broadcast_id, clock.now())
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, graph=graph, quota_wait=1.5)
    await deliver_until_done(dispatcher, staffed, timeout=30)
    assert graph.per_recipient() == {f"p{n}": 1 for n in range(6)}
    refused = [r for r in graph.requests if r.outcome == "graph:613"]
    assert refused and all(r.body["recipient"]["id"] in graph.per_recipient() for r in refused)


async def test_a_recipient_found_sending_after_a_crash_is_never_resent(staffed: Engine, library: Library, http,
                                                                       telegram) -> None:
    clock = RunningClock()
    add_sub(staffed, "telegram:1")
    add_sub(staffed, "telegram:2")
    broadcast_id = approved(staffed, library, clock.now())
    start_broadcast(staffed, broadcast_id, clock.now())
    with session_factory(staffed).begin() as s:  # the process died after marking it, before recording success
        s.execute(update(BroadcastRecipient).where(BroadcastRecipient.sender_id == "telegram:1")
                  .values(status=bc.R_SENDING))
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, telegram=telegram)
    await deliver_until_done(dispatcher, staffed)
    assert telegram.per_chat() == {"2": 1}
    assert recipients(staffed, broadcast_id)["telegram:1"] == ("failed", bc.INTERRUPTED)
    st = bc.status(staffed, broadcast_id)
    assert (st.sent, st.failed) == (1, 1)


async def test_a_timeout_with_unknown_outcome_is_not_retried(staffed: Engine, library: Library, http,
                                                             telegram) -> None:
    clock = RunningClock()
    add_sub(staffed, "telegram:1")
    broadcast_id = approved(staffed, library, clock.now())
    start_broadcast(staffed, broadcast_id, clock.now())
    telegram.stall("sendMessage", seconds=3.0, times=1)  # longer than the senders' 2 s timeout
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, telegram=telegram)
    await deliver_until_done(dispatcher, staffed)
    for _ in range(50):  # the held call is recorded when its 3 s are over
        if telegram.calls("sendMessage", outcome=None):
            break
        await asyncio.sleep(0.1)
    await dispatcher.drain(timeout=1)
    assert len(telegram.calls("sendMessage", outcome=None)) == 1
    assert recipients(staffed, broadcast_id)["telegram:1"] == ("failed", bc.INTERRUPTED)


async def test_a_refusal_for_good_is_failed_with_its_code(staffed: Engine, library: Library, http,
                                                          telegram) -> None:
    clock = RunningClock()
    add_sub(staffed, "telegram:1")
    add_sub(staffed, "telegram:2")
    telegram.reject("sendMessage", description="Forbidden: bot was blocked by the user", status=403, chat_id=1)
    broadcast_id = approved(staffed, library, clock.now())
    start_broadcast(staffed, broadcast_id, clock.now())
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, telegram=telegram)
    await deliver_until_done(dispatcher, staffed)
    got = recipients(staffed, broadcast_id)
    assert got["telegram:1"] == ("failed", "telegram:forbidden") and got["telegram:2"] == ("sent", None)
    assert len(telegram.calls("sendMessage", outcome=None)) == 2  # the refused one was not retried


async def test_a_crash_while_waiting_for_the_pace_loses_nothing(staffed: Engine, library: Library, http,
                                                                telegram) -> None:
    clock = RunningClock()
    add_sub(staffed, "telegram:7")
    broadcast_id = approved(staffed, library, clock.now())
    start_broadcast(staffed, broadcast_id, clock.now())
    dispatcher, delivery = broadcast_dispatcher(staffed, clock, http, telegram=telegram)
    stuck = asyncio.Event()

    async def never() -> None:  # the pace wait that the process dies in
        stuck.set()
        await asyncio.Event().wait()

    delivery.gates["telegram"].acquire = never
    task = asyncio.create_task(dispatcher.run_once())
    await asyncio.wait_for(stuck.wait(), 5)
    assert recipients(staffed, broadcast_id)["telegram:7"][0] == "pending"  # not yet `sending`: nothing in doubt
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    dispatcher, _ = broadcast_dispatcher(staffed, clock, http, telegram=telegram)  # the restarted process
    with session_factory(staffed).begin() as s:  # the dead process's lease on the row has run out
        s.execute(update(OutboxItem).values(lease_until=None, lease_owner=None))
    await deliver_until_done(dispatcher, staffed)
    assert telegram.per_chat() == {"7": 1}
    assert recipients(staffed, broadcast_id)["telegram:7"][0] == "sent"
