"""Counselor replies never wait behind Rasa: transcript writes have their own lane and a bounded life.

Pushes to a resident's channel travel on `res:<sender>`, writes to the Rasa conversation on
`rasa:<sender>`; a transcript row that keeps failing ends `dead` after a maximum of attempts, with a
`delivery_failures` row and a log line that carries no message text.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.cases.models import CaseEvent
from bot.db.engine import session_factory
from bot.desk import keys
from bot.desk.app import create_app
from bot.desk.commands import Actor
from bot.desk.delivery import TRANSCRIPT_MAX_ATTEMPTS, on_dead_delivery, resident_handlers
from bot.desk.rasa import RasaClient, TranscriptReader
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.enqueue import enqueue
from bot.outbox.errors import GiveUp, RetryLater
from bot.outbox.models import DEAD, PENDING, SENT, DeliveryFailure, OutboxItem
from bot.timeutil import ManualClock, utcnow
from tests.desk.helpers import (
    API_TOKEN,
    FakeOutbound,
    RecordingRasa,
    desk_runtime,
    desk_settings,
    eventually,
    open_case,
)
from tests.fakes.rasa import FakeRasa

pytestmark = pytest.mark.asyncio
SECRET_TEXT = "Chị ở ngay đây, số chị 0987 654 321"


def rows(engine, prefix: str) -> list[OutboxItem]:
    """Outbox rows whose lane starts with a prefix, in id order."""
    with session_factory(engine)() as s:
        return list(s.execute(select(OutboxItem).where(OutboxItem.lane.startswith(prefix))
                              .order_by(OutboxItem.id)).scalars())


async def test_rasa_refusing_the_token_does_not_hold_a_counselor_reply(engine, tmp_path) -> None:
    rasa = await FakeRasa("right-token", str(tmp_path / "tracker.db"), engine).start()
    http = aiohttp.ClientSession()
    outbound = FakeOutbound()
    settings = desk_settings(None)
    app = create_app(desk_runtime(engine), API_TOKEN, settings=settings, outbound=outbound,
                     rasa=RasaClient(http, rasa.url, "wrong-token"))
    runner = web.AppRunner(app)
    await runner.setup()  # runs the background jobs (the dispatcher) like a served desk
    try:
        case_id = open_case(engine, sender="zalo:77")
        commands = app[keys.COMMANDS]
        lan = Actor("desk:lan", "Chị Lan")
        assert commands.claim(case_id, lan, "test").ok
        assert commands.reply(case_id, lan, SECRET_TEXT, "test").ok
        await eventually(lambda: ("zalo:77", SECRET_TEXT, True) in outbound.sent, timeout=3)
        assert rasa.rejected >= 1  # Rasa did refuse the pause meanwhile
        assert {r.lane for r in rows(engine, "rasa:")} == {"rasa:zalo:77"}
        assert all(r.kind == "resident_push" for r in rows(engine, "res:"))
    finally:
        await runner.cleanup()
        await http.close()
        await rasa.stop()


async def test_rasa_down_does_not_hold_a_counselor_reply(engine, tmp_path) -> None:
    """Rasa not listening at all (connection refused, as during a restart): the reply still reaches the resident."""
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    http = aiohttp.ClientSession()
    outbound = FakeOutbound()
    app = create_app(desk_runtime(engine), API_TOKEN, settings=desk_settings(None), outbound=outbound,
                     rasa=RasaClient(http, dead_url, "any-token"))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        case_id = open_case(engine, sender="zalo:78")
        commands = app[keys.COMMANDS]
        lan = Actor("desk:lan", "Chị Lan")
        assert commands.claim(case_id, lan, "test").ok
        assert commands.reply(case_id, lan, SECRET_TEXT, "test").ok
        await eventually(lambda: ("zalo:78", SECRET_TEXT, True) in outbound.sent, timeout=3)
        pending = [r for r in rows(engine, "rasa:") if r.status != SENT]
        assert pending and all(r.lane == "rasa:zalo:78" for r in pending)  # the transcript write waits, alone
    finally:
        await runner.cleanup()
        await http.close()


class RefusingRasa(RecordingRasa):
    """A Rasa that always refuses the desk's token."""

    async def append_events(self, sender_id: str, events: list) -> None:
        """Refuse."""
        raise RetryLater("rasa refused the token (401)")


def transcript_dispatcher(engine, clock: ManualClock, rasa: RecordingRasa, outbound: FakeOutbound) -> Dispatcher:
    """The desk's resident handlers with the desk's limits."""
    return Dispatcher(engine, clock, resident_handlers(outbound, rasa, TranscriptReader(None)), max_backoff=1,
                      max_attempts={"resident_push": 12, "rasa_events": TRANSCRIPT_MAX_ATTEMPTS},
                      on_dead=on_dead_delivery(telegram_enabled=True))


async def test_a_failing_transcript_row_gives_up_with_a_failure_row_and_no_text_in_the_log(engine, caplog) -> None:
    case_id = open_case(engine, sender="zalo:5")
    clock = ManualClock(utcnow() + timedelta(seconds=1))
    with session_factory(engine).begin() as s:
        enqueue(s, key="reply:9:rasa", kind="rasa_events", lane="rasa:zalo:5", case_id=case_id, now=utcnow(),
                payload={"sender_id": "zalo:5", "events": [{"event": "bot", "text": SECRET_TEXT,
                                                            "metadata": {"handoff": "counselor"}}]})
    dispatcher = transcript_dispatcher(engine, clock, RefusingRasa(), FakeOutbound())
    caplog.set_level(logging.DEBUG)
    for _ in range(TRANSCRIPT_MAX_ATTEMPTS + 3):
        await dispatcher.run_once()
        clock.advance(seconds=5)
    row = rows(engine, "rasa:")[0]
    assert row.status == DEAD and row.attempts == TRANSCRIPT_MAX_ATTEMPTS
    with session_factory(engine)() as s:
        failures = list(s.execute(select(DeliveryFailure)).scalars())
        history = s.execute(select(CaseEvent.detail).where(CaseEvent.case_id == case_id,
                                                           CaseEvent.kind == "delivery_failed")).scalars().all()
    assert [(f.channel, f.sender_id, f.by_human, f.urgent) for f in failures] == [("zalo", "zalo:5", True, False)]
    assert history and "rasa_events" in history[0] and SECRET_TEXT not in history[0]
    assert "rasa_events" in caplog.text and "gave up" in caplog.text
    for secret in (SECRET_TEXT, "0987", "zalo:5"):
        assert secret not in caplog.text


async def test_rows_of_an_older_database_on_the_shared_lane_are_still_delivered_in_order(engine) -> None:
    case_id = open_case(engine, sender="zalo:6")
    now = utcnow()
    with session_factory(engine).begin() as s:  # written by the desk before the lanes were split
        enqueue(s, key="pause:1", kind="rasa_events", lane="res:zalo:6", case_id=case_id, now=now,
                payload={"sender_id": "zalo:6", "events": [{"event": "pause"}]})
        enqueue(s, key="claimed:1:push", kind="resident_push", lane="res:zalo:6", case_id=case_id, now=now,
                payload={"sender_id": "zalo:6", "text": "Đã có tư vấn viên", "by_human": False})
    rasa, outbound = RecordingRasa(), FakeOutbound()
    await transcript_dispatcher(engine, ManualClock(now + timedelta(seconds=1)), rasa, outbound).drain()
    assert rasa.kinds("zalo:6") == ["pause"] and outbound.sent == [("zalo:6", "Đã có tư vấn viên", False)]
    assert {r.status for r in rows(engine, "res:")} == {SENT}


async def test_an_older_row_stuck_for_ever_on_the_shared_lane_ends_at_its_next_failure(engine) -> None:
    case_id = open_case(engine, sender="zalo:8")
    now = utcnow()
    with session_factory(engine).begin() as s:
        enqueue(s, key="pause:2", kind="rasa_events", lane="res:zalo:8", case_id=case_id, now=now,
                payload={"sender_id": "zalo:8", "events": [{"event": "pause"}]})
        enqueue(s, key="reply:2:push", kind="resident_push", lane="res:zalo:8", case_id=case_id, now=now,
                payload={"sender_id": "zalo:8", "text": "Chị đây", "by_human": True})
    with session_factory(engine).begin() as s:  # it has been failing for days
        s.get(OutboxItem, rows(engine, "res:")[0].id).attempts = 500
    outbound = FakeOutbound()
    clock = ManualClock(now + timedelta(seconds=1))
    dispatcher = transcript_dispatcher(engine, clock, RefusingRasa(), outbound)
    await dispatcher.drain()
    assert [r.status for r in rows(engine, "res:")] == [DEAD, SENT]
    assert outbound.sent == [("zalo:8", "Chị đây", True)]
    assert PENDING not in {r.status for r in rows(engine, "res:")}


async def test_a_counselor_message_that_cannot_be_pushed_is_reported_under_the_card(engine) -> None:
    case_id = open_case(engine, sender="zalo:9")
    with session_factory(engine).begin() as s:
        enqueue(s, key="reply:3:push", kind="resident_push", lane="res:zalo:9", case_id=case_id, now=utcnow(),
                payload={"sender_id": "zalo:9", "text": SECRET_TEXT, "by_human": True})
        enqueue(s, key="claimed:3:push", kind="resident_push", lane="res:zalo:10", case_id=case_id, now=utcnow(),
                payload={"sender_id": "zalo:10", "text": "Đã có tư vấn viên", "by_human": False})
    outbound = FakeOutbound(failures=2, error=GiveUp("zalo:-230"))
    await transcript_dispatcher(engine, ManualClock(utcnow() + timedelta(seconds=1)), RefusingRasa(),
                                outbound).drain()
    notices = rows(engine, f"tg:{case_id}")
    notices = [r for r in notices if r.dedup_key.startswith("undelivered:")]
    assert len(notices) == 1 and notices[0].kind == "tg_notice"  # the counselor's message only
    text = json.loads(notices[0].payload)["text"]
    assert "chưa tới được người dân" in text and "Zalo" in text and SECRET_TEXT not in text
