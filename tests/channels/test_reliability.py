"""Acknowledge fast, process in per-sender order, exactly once across redelivery, restarts and crashes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

from bot.channels import inbox, store
from bot.channels.items import Item
from bot.channels.messenger import MessengerInput
from bot.channels.models import InboxMessage
from bot.channels.telegram import TelegramInput
from bot.channels.zalo import ZaloInput
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.outbox.dispatcher import Delivery, Dispatcher
from bot.outbox.models import OutboxItem
from bot.sending.splitting import split_text
from bot.timeutil import SystemClock, utcnow
from tests.channels.harness import (
    ZALO_APP_ID,
    ZALO_OA_KEY,
    ChannelServer,
    FakeBot,
    channel_env,
    inbox_statuses,
    start_stack,
    wait_processed,
    wait_until,
)
from tests.channels.serve_worker import LONG_REPLY
from tests.fakes.zalo_api import signed, text_event

ROOT = Path(__file__).resolve().parents[2]
SENDERS, PER_SENDER = 20, 5


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def test_burst_of_100_from_20_senders_acked_fast_and_processed_in_order(zalo, http, engine, library) -> None:
    rng = random.Random(7)
    bot = FakeBot(delay=lambda: rng.uniform(0.0, 0.3))  # the assistant is slower than the acknowledgement
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, bot)
    latencies: list[float] = []
    sent_order: dict[str, list[str]] = {f"zalo:s{i}": [] for i in range(SENDERS)}
    base_ts = int(time.time() * 1000)

    async def resident(i: int) -> None:
        for j in range(PER_SENDER):
            await asyncio.sleep(rng.uniform(0, 0.05))
            text = f"người {i} tin {j}"
            # platform timestamps deliberately out of order: arrival order is what counts
            ts = str(base_ts - rng.randint(0, 100000))
            raw, headers = signed(text_event(ZALO_APP_ID, f"s{i}", text, msg_id=f"b{i}-{j}", timestamp=ts),
                                  ZALO_OA_KEY)
            start = time.perf_counter()
            status, body = await stack.post(raw, headers)
            latencies.append(time.perf_counter() - start)
            assert (status, body["accepted"]) == (200, 1)
            sent_order[f"zalo:s{i}"].append(text)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(resident(i) for i in range(SENDERS)))
        acked = time.perf_counter() - began
        await zalo.wait_delivered(SENDERS * PER_SENDER, timeout=60)
        await wait_processed(engine, SENDERS * PER_SENDER, timeout=30)
        total = time.perf_counter() - began
    finally:
        await stack.stop()
    p50, p99 = statistics.median(latencies), percentile(latencies, 99)
    print(f"\nburst: 100 webhooks acked in {acked:.2f}s; ack p50={p50 * 1000:.1f}ms p99={p99 * 1000:.1f}ms; "
          f"all processed in {total:.2f}s ({100 / total:.1f} msg/s); max parallel turns {bot.max_active}")
    assert p99 < 1.0
    for sender, texts in sent_order.items():
        assert bot.texts_of(sender) == texts, f"{sender} processed out of order"
    assert len(bot.calls) == 100 and len(zalo.delivered) == 100
    assert bot.max_active > 1, "different senders should be processed in parallel"


async def test_unprocessed_events_resume_after_a_crash_exactly_once(zalo, http, engine, library) -> None:
    env = channel_env(zalo=zalo)
    hung = FakeBot(behaviour="hang")
    first = await start_stack(ZaloInput, engine, library, env, http, hung, bot_timeout=60, stop_grace=0)
    await first.post(*signed(text_event(ZALO_APP_ID, "r1", "tin một", msg_id="r-1"), ZALO_OA_KEY))
    await first.post(*signed(text_event(ZALO_APP_ID, "r1", "tin hai", msg_id="r-2"), ZALO_OA_KEY))
    await wait_until(lambda: len(hung.calls) == 1, what="first turn started")
    await first.stop()  # the turn is cancelled mid-way: the process "crashed"
    assert sorted(inbox_statuses(engine).values()) == ["pending", "processing"]
    second = await start_stack(ZaloInput, engine, library, env, http)  # same worker id: resumes at once
    try:
        await zalo.wait_delivered(2, user_id="r1")
        await wait_processed(engine, 2)
    finally:
        await second.stop()
    assert second.bot.texts_of("zalo:r1") == ["tin một", "tin hai"]
    assert len(zalo.delivered_texts("r1")) == 2


async def test_another_workers_abandoned_claim_is_taken_over_after_its_lease(zalo, http, engine, library) -> None:
    env = channel_env(zalo=zalo)
    hung = FakeBot(behaviour="hang")
    first = await start_stack(ZaloInput, engine, library, env, http, hung, bot_timeout=60, stop_grace=0,
                              worker_id="worker-a", lease_seconds=1.0)
    await first.post(*signed(text_event(ZALO_APP_ID, "r2", "tin", msg_id="lease-1"), ZALO_OA_KEY))
    await wait_until(lambda: len(hung.calls) == 1, what="turn started")
    await first.stop()
    started = time.monotonic()
    second = await start_stack(ZaloInput, engine, library, env, http, worker_id="worker-b", lease_seconds=1.0)
    try:
        await zalo.wait_delivered(1, user_id="r2")
    finally:
        await second.stop()
    assert time.monotonic() - started >= 0.5, "a live claim of another worker must be respected until it expires"
    assert second.bot.texts_of("zalo:r2") == ["tin"]


async def test_sender_killed_mid_send_loses_nothing_and_repeats_nothing(zalo, tmp_path) -> None:
    db_url = f"sqlite:///{tmp_path / 'kill.db'}"
    engine = make_engine(db_url)
    init_db(engine)
    calls = tmp_path / "calls.txt"
    parts = split_text(LONG_REPLY)
    assert len(parts) == 3
    zalo.stall(seconds=None, times=1, after=1)  # part 1 goes through, part 2 hangs

    async def spawn():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.channels.serve_worker", db_url, zalo.base_url, "kill-worker", str(calls),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONWARNINGS": "ignore"})
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert line.startswith(b"PORT "), line
        return proc, int(line.split()[1])

    proc, port = await spawn()
    try:
        raw, headers = signed(text_event(ZALO_APP_ID, "k1", "cho tôi hỏi", msg_id="kill-1"), ZALO_OA_KEY)
        url = f"http://127.0.0.1:{port}/webhooks/zalo/webhook"
        async with aiohttp.ClientSession() as http, http.post(url, data=raw, headers=headers) as r:
            assert r.status == 200
        await zalo.wait_arrivals(2, timeout=20)          # part 2 is on the wire
        assert zalo.delivered_texts("k1") == parts[:1]
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    await asyncio.sleep(0.2)
    zalo.release()                                        # the killed request is dropped, not delivered
    await wait_until(lambda: any(r.outcome == "dropped" for r in zalo.sends()), what="dropped request")
    proc, _ = await spawn()
    try:
        await zalo.wait_delivered(3, user_id="k1", timeout=20)
        await wait_processed(engine, 1)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert zalo.delivered_texts("k1") == parts
    assert calls.read_text().splitlines() == ["zalo:kill-1"], "the assistant ran once"


async def test_unconfigured_channels_are_not_mounted(http, caplog, monkeypatch) -> None:
    for name in ("ZALO_APP_ID", "FB_APP_SECRET", "TELEGRAM_RESIDENT_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("bot.config.load_dotenv", lambda path=None: None)
    caplog.set_level(logging.INFO)
    channels = [ZaloInput.from_credentials(None), MessengerInput.from_credentials({}),
                TelegramInput.from_credentials({"TELEGRAM_RESIDENT_BOT_TOKEN": "1:x"})]
    assert [c.mounted for c in channels] == [False, False, False]
    lines = [r.getMessage() for r in caplog.records if "not mounted" in r.getMessage()]
    assert len(lines) == 3
    assert "TELEGRAM_RESIDENT_WEBHOOK_SECRET" in lines[2] and "TELEGRAM_RESIDENT_BOT_TOKEN" not in lines[2]
    server = await ChannelServer(channels, FakeBot()).start()
    try:
        for name in ("zalo", "messenger", "telegram"):
            async with http.post(server.url(name), data=b"{}") as resp:
                assert resp.status == 404
    finally:
        await server.stop()


def test_seen_ids_expire_and_are_then_forgotten(engine) -> None:
    item = Item(key="zalo:x1", channel="zalo", sender_id="zalo:u", kind="text", text="xin chào")
    assert len(store.insert_items(engine, [item], timedelta(hours=1))) == 1
    assert store.insert_items(engine, [item], timedelta(hours=1)) == []
    claimed = store.claim_next(engine, "zalo:u", "w", timedelta(seconds=30))
    store.finish(engine, claimed.row_id, "bot")
    assert store.purge_expired(engine) == 0
    assert store.purge_expired(engine, now=utcnow() + timedelta(hours=2)) == 1
    assert len(store.insert_items(engine, [item], timedelta(hours=1))) == 1


async def test_processed_events_keep_no_message_text(engine) -> None:
    item = Item(key="zalo:x2", channel="zalo", sender_id="zalo:u", kind="text", text="bí mật")
    store.insert_items(engine, [item], timedelta(hours=1))
    claimed = store.claim_next(engine, "zalo:u", "w", timedelta(seconds=30))
    store.store_replies(engine, claimed, [("trả lời", None)], False, "bot")
    sent: list[str] = []

    async def deliver(d: Delivery) -> None:
        sent.append(d.payload["text"])

    dispatcher = Dispatcher(engine, SystemClock(), {store.BOT_REPLY: deliver}, owner="w",
                            forget_payload=frozenset({store.BOT_REPLY}))
    await dispatcher.drain()
    with engine.connect() as conn:
        inbox = conn.execute(InboxMessage.__table__.select()).all()
        outbox = conn.execute(OutboxItem.__table__.select()).all()
    assert sent == ["trả lời"]
    assert [(r.text, r.data, r.status) for r in inbox] == [(None, None, "done")]
    assert [(r.kind, r.payload, r.status) for r in outbox] == [(store.BOT_REPLY, "{}", "sent")]


def test_storing_the_same_replies_twice_queues_them_once(engine) -> None:
    item = Item(key="zalo:x3", channel="zalo", sender_id="zalo:u", kind="text", text="hỏi")
    store.insert_items(engine, [item], timedelta(hours=1))
    claimed = store.claim_next(engine, "zalo:u", "w", timedelta(seconds=30))
    store.store_replies(engine, claimed, [("một", None), ("hai", None)], False, "bot")
    store.store_replies(engine, claimed, [("một", None), ("hai", None)], False, "bot")
    with engine.connect() as conn:
        rows = conn.execute(OutboxItem.__table__.select().order_by(OutboxItem.id)).all()
    assert [r.lane for r in rows] == ["reply:zalo:u", "reply:zalo:u"]
    assert [json.loads(r.payload)["text"] for r in rows] == ["một", "hai"]


async def test_an_event_that_keeps_crashing_is_eventually_given_up(zalo, http, engine, library, monkeypatch) -> None:
    async def broken(self, item):
        raise RuntimeError("bug in a channel step")

    monkeypatch.setattr(inbox.InboxWorker, "_turn", broken)
    monkeypatch.setattr(inbox, "MAX_ATTEMPTS", 0)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, sweep_interval=0.05)
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, "g1", "xin chào", msg_id="poison"), ZALO_OA_KEY))
        await wait_until(lambda: inbox_statuses(engine).get("zalo:poison") == "done", timeout=20,
                         what="poison event given up")
        assert store.inbox_counts(engine)["done"] == 1
    finally:
        await stack.stop()


async def test_an_urgent_reply_goes_before_a_backlog_of_ordinary_replies(engine) -> None:
    for n in range(40):
        calm = Item(key=f"zalo:c{n}", channel="zalo", sender_id=f"zalo:calm{n}", kind="text", text="hỏi")
        store.insert_items(engine, [calm], timedelta(hours=1))
        store.store_replies(engine, store.claim_next(engine, f"zalo:calm{n}", "w", timedelta(seconds=30)),
                            [("trả lời", None)], False, "bot")
    urgent = Item(key="zalo:u1", channel="zalo", sender_id="zalo:danger", kind="text", text="cứu")
    store.insert_items(engine, [urgent], timedelta(hours=1))
    store.store_replies(engine, store.claim_next(engine, "zalo:danger", "w", timedelta(seconds=30)),
                        [("Gọi 113", None)], True, "bot")
    order: list[str] = []

    async def deliver(d: Delivery) -> None:
        order.append(d.payload["sender_id"])

    dispatcher = Dispatcher(engine, SystemClock(), {store.BOT_REPLY: deliver}, owner="w", concurrency=1)
    await dispatcher.drain()
    assert len(order) == 41
    assert order[0] == "zalo:danger"
