"""End to end per channel: the real trained model and action server behind each channel and its fake platform."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from rasa.core.channels.channel import UserMessage

from bot.cases.store import CaseStore
from bot.channels import store
from bot.channels.collector import ReplyCollector
from bot.channels.messenger import MessengerInput
from bot.channels.telegram import TelegramInput
from bot.channels.zalo import ZaloInput
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.text import has_diacritics
from scripts.local_servers import free_port
from tests.channels.harness import (
    FB_APP_SECRET,
    TG_SECRET,
    TG_TOKEN,
    ZALO_APP_ID,
    ZALO_APP_SECRET,
    ZALO_OA_KEY,
    channel_env,
    start_stack,
    wait_until,
)
from tests.fakes import graph_api, zalo_api
from tests.fakes.graph_api import FakeGraph
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "current.tar.gz"
GREETING = "xin chào"
URGENT = "chồng tôi đang đánh tôi, cứu tôi với"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not MODEL.exists(), reason="models/current.tar.gz not found: run `make train` first"),
    pytest.mark.asyncio(loop_scope="module"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def assistant(tmp_path_factory) -> AsyncIterator[dict]:
    """The action server (subprocess) and the trained agent, sharing a temporary database."""
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    tmp = tmp_path_factory.mktemp("channels-e2e")
    db_url = f"sqlite:///{tmp / 'app.db'}"
    engine = make_engine(db_url)
    init_db(engine)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url, "APP_VAR_DIR": str(tmp),
           "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    log = await asyncio.to_thread(open, tmp / "actions.log", "wb")  # closed in the finally below
    actions = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port),
        cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(240):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.5)
            else:
                raise AssertionError("the action server did not start: " + (tmp / "actions.log").read_text()[-2000:])
        agent = await load_agent(model_path=str(MODEL), endpoints=AvailableEndpoints(
            action=EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")))
        assert agent.is_ready()
        yield {"agent": agent, "engine": engine}
    finally:
        actions.terminate()
        try:
            await asyncio.wait_for(actions.wait(), timeout=20)
        except asyncio.TimeoutError:
            actions.kill()
        log.close()


async def processed(engine, channel: str, count: int) -> None:
    """Wait until `count` events of a channel are done."""
    await wait_until(lambda: store.inbox_counts(engine, channel).get("done", 0) >= count, 90,
                     f"{count} processed {channel} events")


async def converse(stack, send, delivered, sender_id: str) -> None:
    """A greeting gets a Vietnamese reply; an urgent message gets the numbers and exactly one case."""
    engine, channel = stack.runtime.engine, stack.channel.name()
    await send(GREETING, "e2e-1")
    await processed(engine, channel, 1)
    first = await delivered(1)
    assert all(has_diacritics(t) for t in first), first
    await send(URGENT, "e2e-2")
    await processed(engine, channel, 2)
    replies = await delivered(len(first) + 1)
    urgent_replies = replies[len(first):]
    assert any("113" in t for t in urgent_replies), urgent_replies
    cases = CaseStore(engine).list_cases(sender_id=sender_id)
    assert len(cases) == 1, [c.to_dict() for c in cases]
    assert cases[0].urgency == "danger_now" and cases[0].channel == sender_id.split(":")[0]


async def test_the_urgent_reply_carries_the_case_marker_through_rasa(assistant) -> None:
    collector = ReplyCollector("zalo")
    await assistant["agent"].handle_message(UserMessage(URGENT, collector, "zalo:e2e-marker", input_channel="zalo",
                                                        message_id="zalo:e2e-marker-1"))
    (case,) = CaseStore(assistant["engine"]).list_cases(sender_id="zalo:e2e-marker")
    assert collector.case_marked, collector.messages
    assert case.message_id == "zalo:e2e-marker-1" and "kêu cứu" in case.reasons
    assert any(f"mã ca #{case.id}" in text for text, _ in collector.parts())
    assert all("case_marker" not in text for text, _ in collector.parts())


async def test_zalo_end_to_end(assistant, library) -> None:
    async with FakeZalo(app_id=ZALO_APP_ID, app_secret=ZALO_APP_SECRET) as zalo, aiohttp.ClientSession() as http:
        stack = await start_stack(ZaloInput, assistant["engine"], library, channel_env(zalo=zalo), http,
                                  bot=assistant["agent"].handle_message, bot_timeout=60)
        try:
            async def send(text: str, mid: str) -> None:
                raw, headers = zalo_api.signed(zalo_api.text_event(ZALO_APP_ID, "e2e-user", text, msg_id=mid),
                                               ZALO_OA_KEY)
                assert (await stack.post(raw, headers))[0] == 200

            async def delivered(n: int) -> list[str]:
                return await zalo.wait_delivered(n, user_id="e2e-user", timeout=60)

            await converse(stack, send, delivered, "zalo:e2e-user")
        finally:
            await stack.stop()


async def test_messenger_end_to_end(assistant, library) -> None:
    async with FakeGraph() as graph, aiohttp.ClientSession() as http:
        stack = await start_stack(MessengerInput, assistant["engine"], library, channel_env(graph=graph), http,
                                  bot=assistant["agent"].handle_message, bot_timeout=60)
        try:
            async def send(text: str, mid: str) -> None:
                raw, headers = graph_api.signed(graph_api.payload([graph_api.text_event("e2e-psid", text, mid=mid)]),
                                                FB_APP_SECRET)
                assert (await stack.post(raw, headers))[0] == 200

            async def delivered(n: int) -> list[str]:
                return await graph.wait_delivered(n, psid="e2e-psid", timeout=60)

            await converse(stack, send, delivered, "messenger:e2e-psid")
        finally:
            await stack.stop()


async def test_telegram_end_to_end(assistant, library) -> None:
    async with FakeTelegram(token=TG_TOKEN) as telegram, aiohttp.ClientSession() as http:
        stack = await start_stack(TelegramInput, assistant["engine"], library, channel_env(telegram=telegram), http,
                                  bot=assistant["agent"].handle_message, bot_timeout=60)
        telegram.webhook = {"url": stack.server.url("telegram"), "secret_token": TG_SECRET}
        chat = 8080
        try:
            async def send(text: str, mid: str) -> None:
                update = telegram.text_update(user=telegram.user(chat, "Hoa"), chat_id=chat, text=text)
                assert await telegram.deliver_webhook(update) == 200

            async def delivered(n: int) -> list[str]:
                await telegram.wait_for("sendMessage", n, chat_id=chat, timeout=60)
                return telegram.sent_texts(chat)

            await converse(stack, send, delivered, f"telegram:{chat}")
        finally:
            await stack.stop()
