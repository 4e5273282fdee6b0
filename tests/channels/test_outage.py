"""The project database goes away and comes back: urgent answered at once, the rest held, nothing lost or repeated."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

import bot.cases.spool
from bot.channels import inbox
from bot.channels.models import InboxMessage
from bot.channels.store import BOT_REPLY
from bot.channels.zalo import ZaloInput
from bot.outbox.models import OutboxItem
from tests.channels.harness import ZALO_APP_ID, ZALO_OA_KEY, FakeBot, channel_env, start_stack, wait_until
from tests.fakes.zalo_api import signed, text_event

URGENT = "Cứu tôi với, chồng tôi đang cầm dao đánh tôi"


class Outage:
    """Makes every statement on an engine fail like a database that cannot be reached, until switched off."""

    def __init__(self, engine: Engine) -> None:
        self.down = False
        event.listen(engine, "before_cursor_execute", self._check)

    def _check(self, _conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if self.down:
            raise OperationalError(statement, {}, sqlite3.OperationalError("unable to open database file"))


@pytest.fixture
def outage(engine: Engine) -> Iterator[Outage]:
    yield Outage(engine)


@pytest.fixture(autouse=True)
def spool(tmp_path, monkeypatch):
    path = tmp_path / "spool" / "cases.jsonl"
    monkeypatch.setattr(bot.cases.spool, "spool_path", lambda: path)
    return path


def rows(engine: Engine) -> tuple[dict[str, tuple[str, str | None]], list[tuple[str, str]]]:
    """Inbox key → (status, outcome), and the bot replies' (dedup key, status) in id order."""
    with engine.connect() as conn:
        events = {r.key: (r.status, r.outcome) for r in conn.execute(
            select(InboxMessage.key, InboxMessage.status, InboxMessage.outcome))}
        replies = [(r.dedup_key, r.status) for r in conn.execute(
            select(OutboxItem.dedup_key, OutboxItem.status).where(OutboxItem.kind == BOT_REPLY)
            .order_by(OutboxItem.id))]
    return events, replies


def post(stack, user: str, text: str, msg_id: str):
    return stack.post(*signed(text_event(ZALO_APP_ID, user, text, msg_id=msg_id), ZALO_OA_KEY))


async def test_a_short_outage_holds_questions_answers_danger_at_once_and_loses_nothing(
        zalo, http, engine, library, outage, spool) -> None:
    bot = FakeBot()
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, bot)
    try:
        assert (await post(stack, "a", "xin chào", "a-1"))[0] == 200
        await zalo.wait_delivered(1, user_id="a")

        outage.down = True
        for user, text, msg_id in (("a", "bình đẳng giới là gì", "a-2"), ("b", URGENT, "b-1")):
            status, body = await post(stack, user, text, msg_id)
            assert (status, body["accepted"]) == (200, 1)
        urgent_reply = "\n".join(await zalo.wait_delivered(2, user_id="b"))  # danger does not wait for the database
        assert "113" in urgent_reply
        assert spool.read_text(encoding="utf-8").count("zalo:b-1") == 1  # its case is kept in the spool
        assert (await post(stack, "b", URGENT, "b-1"))[1]["duplicates"] == 1  # a redelivery during the outage
        await asyncio.sleep(1.0)
        assert len(zalo.delivered_texts("a")) == 1  # the question waits for the database (up to HOLD_SECONDS)
        assert bot.texts_of("zalo:a") == ["xin chào"]

        outage.down = False
        assert (await post(stack, "a", "cảm ơn", "a-3"))[1]["accepted"] == 1  # newer than the held one
        await zalo.wait_delivered(3, user_id="a", timeout=10)
        assert bot.texts_of("zalo:a") == ["xin chào", "bình đẳng giới là gì", "cảm ơn"]  # in the order written

        def recorded() -> bool:
            events, _ = rows(engine)
            return len(events) == 4 and all(status == "done" for status, _ in events.values())

        await wait_until(recorded, timeout=10, what="every event recorded as done")
        events, replies = rows(engine)
        assert events["zalo:b-1"] == ("done", "safety_net")
        b_parts = [status for key, status in replies if key.startswith(f"{BOT_REPLY}:zalo:b-1:")]
        assert b_parts and set(b_parts) == {"sent"}  # what she was sent during the outage is on record
        for key in ("a-2", "a-3"):
            assert any(k.startswith(f"{BOT_REPLY}:zalo:{key}:") for k, _ in replies)

        before = len(zalo.delivered)
        for user, text, msg_id in (("b", URGENT, "b-1"), ("a", "bình đẳng giới là gì", "a-2")):
            assert (await post(stack, user, text, msg_id))[1]["duplicates"] == 1  # redeliveries after it
        await asyncio.sleep(0.5)
        assert len(zalo.delivered) == before
        assert spool.read_text(encoding="utf-8").count("zalo:b-1") == 1
    finally:
        await stack.stop()


@pytest.mark.parametrize("flush_every", [inbox.FLUSH_EVERY, 0.01])  # 0.01: flushes keep racing the drain
async def test_a_long_outage_answers_a_held_question_directly_and_records_it_later(
        zalo, http, engine, library, outage, monkeypatch, flush_every) -> None:
    monkeypatch.setattr(inbox, "HOLD_SECONDS", 0.5)
    monkeypatch.setattr(inbox, "FLUSH_EVERY", flush_every)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, FakeBot())
    try:
        outage.down = True
        assert (await post(stack, "c", "tháng hành động là gì", "c-1"))[1]["accepted"] == 1
        reply = await zalo.wait_delivered(1, user_id="c", timeout=10)  # answered without the database
        assert reply
        outage.down = False
        await wait_until(lambda: rows(engine)[0].get("zalo:c-1", ("",))[0] == "done", timeout=10,
                         what="the answered event recorded")
        _, replies = rows(engine)
        assert [status for key, status in replies if key.startswith(f"{BOT_REPLY}:zalo:c-1:")] == ["sent"]
        assert (await post(stack, "c", "tháng hành động là gì", "c-1"))[1]["duplicates"] == 1
    finally:
        await stack.stop()


async def test_replies_that_cannot_be_queued_wait_for_the_database_unless_urgent(
        zalo, http, engine, library, outage, spool) -> None:
    bot = FakeBot(delay=lambda: 0.5)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, bot)
    try:
        for user, text, msg_id in (("d", "luật bình đẳng giới", "d-1"), ("e", URGENT, "e-1")):
            assert (await post(stack, user, text, msg_id))[1]["accepted"] == 1
        await wait_until(lambda: len(bot.calls) == 2, what="both turns running")
        outage.down = True  # the database goes away while the assistant is answering
        urgent_reply = "\n".join(await zalo.wait_delivered(2, user_id="e"))
        assert "113" in urgent_reply  # sent at once, without the outbox
        await asyncio.sleep(1.0)
        assert zalo.delivered_texts("d") == []  # the ordinary reply waits to be queued

        outage.down = False
        await zalo.wait_delivered(1, user_id="d", timeout=10)

        def recorded() -> bool:
            events, replies = rows(engine)
            return (set(events.values()) <= {("done", "bot"), ("done", "safety_net")} and len(events) == 2
                    and all(status == "sent" for _, status in replies))

        await wait_until(recorded, timeout=10, what="both events done and their replies on record")
        events, replies = rows(engine)
        assert events == {"zalo:d-1": ("done", "bot"), "zalo:e-1": ("done", "safety_net")}
        assert [k for k, _ in replies if k.startswith(f"{BOT_REPLY}:zalo:e-1:")]
        sent = len(zalo.delivered)
        await asyncio.sleep(1.0)
        assert len(zalo.delivered) == sent and len(bot.calls) == 2  # neither was processed again
    finally:
        await stack.stop()
