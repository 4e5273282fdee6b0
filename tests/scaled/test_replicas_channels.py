"""Messenger and Telegram residents on two Rasa replicas (PostgreSQL, Redis): each message answered once, in order.

The same layout as tests/scaled/test_replicas.py, with the other two resident channels: 10 Messenger residents
(webhooks signed with X-Hub-Signature-256, replies at the fake Graph API) and 10 Telegram residents (webhooks with
the secret token, replies at the fake Bot API, beside the desk's bot) write 6 messages each, every message to
either replica; three of each report violence once. Every message is processed once, its replies queued once and
delivered once, in the order written; every urgent message makes one case and one card. Needs
models/current.tar.gz (marked e2e).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from scripts.bench_stacks import ROOT, start_project
from tests.desk.helpers import eventually
from tests.fakes.graph_api import FakeGraph, signature
from tests.fakes.graph_api import payload as graph_payload
from tests.fakes.graph_api import text_event as graph_text_event
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.scaled.helpers import scaled_env, wait_up

MODEL = ROOT / "models" / "current.tar.gz"
PER_CHANNEL, TURNS, URGENT_PER_CHANNEL, URGENT_TURN = 10, 6, 3, 2
QUESTIONS = ["xin chào", "bạo lực gia đình là gì", "chu de nam nay la gi", "tháng hành động diễn ra khi nào",
             "làm sao để tố cáo mà không lộ tên", "cảm ơn bạn"]
URGENT = "Cứu tôi với, chồng tôi đang cầm dao đánh tôi"
FB_SECRET, TG_SECRET = "replica-fb-secret", "replica-tg-secret"
TG_CHAT0 = 7100
pytestmark = [pytest.mark.asyncio, pytest.mark.e2e,
              pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train`")]


def messages(n: int) -> list[str]:
    """One resident's messages; the first three of each channel report violence at their third."""
    out = [QUESTIONS[(n + turn) % len(QUESTIONS)] for turn in range(TURNS)]
    if n < URGENT_PER_CHANNEL:
        out[URGENT_TURN] = URGENT
    return out


async def test_messenger_and_telegram_residents_on_two_replicas_each_answered_once_in_order(
        tmp_path: Path, pg_url: str, postgres, redis_server) -> None:
    tg = FakeTelegram(token=f"{random.randint(10**8, 10**9)}:DESK")
    resident_token = f"{random.randint(10**8, 10**9)}:RESIDENTS"
    tg.other_tokens.add(resident_token)
    graph = FakeGraph(page_token="PAGE-REPLICAS")
    zalo = FakeZalo(app_id="replica-app", app_secret="replica-secret")
    for server in (tg, graph, zalo):
        await server.start()
    env = {**scaled_env(pg_url, postgres, redis_server),
           "FB_VERIFY_TOKEN": "replica-verify", "FB_APP_SECRET": FB_SECRET, "FB_PAGE_ACCESS_TOKEN": "PAGE-REPLICAS",
           "FB_GRAPH_BASE_URL": graph.base_url, "FB_GRAPH_VERSION": graph.version,
           "TELEGRAM_RESIDENT_BOT_TOKEN": resident_token, "TELEGRAM_RESIDENT_WEBHOOK_SECRET": TG_SECRET}
    (tmp_path / "project").mkdir()
    stack, _keys = start_project(MODEL, tmp_path / "project", tg, zalo, env, replicas=2)
    procs = stack.procs
    update_ids = iter(range(500000, 600000))
    try:
        async with aiohttp.ClientSession() as http:
            await wait_up(http, stack, "/webhooks/messenger/webhook",
                          {"hub.mode": "subscribe", "hub.verify_token": "replica-verify", "hub.challenge": "ok"})

            async def post(replica: int, channel: str, raw: bytes, headers: dict[str, str]) -> None:
                for _ in range(20):
                    try:
                        async with http.post(f"{stack.urls[replica]}/webhooks/{channel}/webhook", data=raw,
                                             headers={"Content-Type": "application/json", **headers},
                                             timeout=aiohttp.ClientTimeout(total=20)) as resp:
                            if resp.status == 200:
                                return
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        pass
                    await asyncio.sleep(0.5)
                raise AssertionError(f"a {channel} webhook was never accepted")

            async def messenger_resident(n: int) -> None:
                rnd = random.Random(n)
                for turn, words in enumerate(messages(n)):
                    body = graph_payload([graph_text_event(f"psid{n}", words, mid=f"fb{n}-{turn}")])
                    raw = json.dumps(body).encode()
                    await post((n + turn) % 2, "messenger", raw, {"X-Hub-Signature-256": signature(FB_SECRET, raw)})
                    await asyncio.sleep(rnd.uniform(0.2, 0.6))

            async def telegram_resident(n: int) -> None:
                rnd = random.Random(100 + n)
                user = {"id": TG_CHAT0 + n, "is_bot": False, "first_name": "Dân"}
                for turn, words in enumerate(messages(n)):
                    body = {"update_id": next(update_ids),
                            **tg.text_update(user=user, chat_id=TG_CHAT0 + n, text=words, message_id=1000 + turn)}
                    await post((n + turn + 1) % 2, "telegram", json.dumps(body).encode(),
                               {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
                    await asyncio.sleep(rnd.uniform(0.2, 0.6))

            await asyncio.gather(*(messenger_resident(n) for n in range(PER_CHANNEL)),
                                 *(telegram_resident(n) for n in range(PER_CHANNEL)))

            app = create_engine(pg_url, hide_parameters=True)

            def inbox() -> list:
                with app.connect() as conn:
                    return conn.execute(text("SELECT key, status FROM channel_inbox")).all()

            def all_done() -> bool:
                procs.alive()
                rows = inbox()
                return len(rows) == 2 * PER_CHANNEL * TURNS and all(r.status == "done" for r in rows)

            await eventually(all_done, timeout=240, interval=0.5)

            def replies() -> list:
                with app.connect() as conn:
                    return conn.execute(text("SELECT id, dedup_key, lane, status FROM outbox "
                                             "WHERE kind = 'bot_reply' ORDER BY id")).all()

            await eventually(lambda: all(r.status == "sent" for r in replies()), timeout=120, interval=0.5)
            rows = replies()
            lanes: dict[str, int] = defaultdict(int)
            for row in rows:
                lanes[row.lane] += 1

            def delivered() -> dict[str, int]:
                counts: dict[str, int] = defaultdict(int)
                for request in graph.delivered:
                    counts[f"reply:messenger:{request.body['recipient']['id']}"] += 1
                for message in tg.sent():
                    if str(message.chat_id) != "-100777":
                        counts[f"reply:telegram:{message.chat_id}"] += 1
                return counts

            await eventually(lambda: sum(delivered().values()) >= len(rows), timeout=60, interval=0.5)
            await asyncio.sleep(2)  # a second delivery, if any, would arrive now
            assert delivered() == lanes  # every part delivered once, to the resident it was for

            per_message: dict[str, int] = defaultdict(int)
            order: dict[str, list[int]] = defaultdict(list)
            for row in rows:
                # bot_reply:<channel>:<message id>:<part>; Telegram's message id is its update id
                _, channel, msg, _part = row.dedup_key.split(":")
                per_message[f"{channel}:{msg}"] += 1
                order[row.lane].append(int(msg.split("-")[1]) if channel == "messenger" else int(msg))
            assert len(per_message) == 2 * PER_CHANNEL * TURNS  # every message answered
            for lane, sequence in order.items():  # in the order written (parts of one message are adjacent)
                assert sequence == sorted(sequence), lane

            with app.connect() as conn:
                cases = conn.execute(text("SELECT id, sender_id FROM cases")).all()
                cards = conn.execute(text("SELECT case_id FROM outbox WHERE kind = 'tg_card'")).all()
            app.dispose()
            expected = [f"messenger:psid{n}" for n in range(URGENT_PER_CHANNEL)] + \
                [f"telegram:{TG_CHAT0 + n}" for n in range(URGENT_PER_CHANNEL)]
            assert sorted(c.sender_id for c in cases) == sorted(expected)
            assert sorted(c.case_id for c in cards) == sorted(c.id for c in cases)
    finally:
        procs.stop()
        for server in (zalo, graph, tg):
            await server.stop()
