"""The hand-off against the real stack: Rasa with the trained model (API behind a token), the action
server and the desk, with the fake Telegram. Needs models/current.tar.gz (marked e2e)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.cases.models import RESOLVED
from bot.cases.store import CaseStore
from bot.db.engine import make_engine
from bot.db.schema import init_db
from scripts.local_servers import free_port
from tests.desk.helpers import COUNSELORS, ROOT, DeskProcess, eventually
from tests.fakes.telegram_api import FakeTelegram

MODEL = ROOT / "models" / "current.tar.gz"
TOKEN = "e2e-rasa-token"
SENDER = "e2e-web-resident"
CONVERSATION = f"rest:{SENDER}"  # the REST channel keeps its senders in their own namespace
pytestmark = [pytest.mark.asyncio, pytest.mark.e2e,
              pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train`")]


class RealStack:
    """Rasa and the action server as processes (the desk is a DeskProcess)."""

    def __init__(self, tmp: Path, desk: DeskProcess) -> None:
        """Share the desk's environment (databases, tokens)."""
        self.rasa_port, self.action_port = free_port(), free_port()
        self.rasa = f"http://127.0.0.1:{self.rasa_port}"
        desk.env.update(RASA_URL=self.rasa, RASA_AUTH_TOKEN=TOKEN, RASA_TELEMETRY_ENABLED="false",
                        TF_CPP_MIN_LOG_LEVEL="2",
                        ACTION_ENDPOINT_URL=f"http://127.0.0.1:{self.action_port}/webhook")
        self.env, self.tmp = desk.env, tmp
        self.procs: list[subprocess.Popen] = []

    def spawn(self) -> None:
        """Start the action server and Rasa."""
        rasa = str(ROOT / ".venv" / "bin" / "rasa")
        for name, cmd in (("actions", [rasa, "run", "actions", "--actions", "actions", "--port",
                                       str(self.action_port)]),
                          ("rasa", [rasa, "run", "--model", str(MODEL), "--port", str(self.rasa_port),
                                    "--interface", "127.0.0.1", "--endpoints", "endpoints.yml", "--credentials",
                                    "credentials.yml", "--enable-api", "--auth-token", TOKEN])):
            with open(self.tmp / f"{name}.log", "ab") as log:
                self.procs.append(subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self) -> None:
        """Stop what spawn() started."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest_asyncio.fixture
async def stack(tmp_path: Path, tg: FakeTelegram) -> AsyncIterator[tuple[RealStack, DeskProcess]]:
    """Rasa, actions and the desk, ready."""
    desk = DeskProcess(tmp_path, tg)
    real = RealStack(tmp_path, desk)
    real.spawn()
    try:
        await desk.start()
        async with aiohttp.ClientSession() as http:
            async def ready() -> bool:
                try:
                    async with http.get(f"{real.rasa}/status", params={"token": TOKEN}) as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False
            await eventually(ready, timeout=240, interval=1.0)
        yield real, desk
    finally:
        desk.stop()
        real.stop()


async def test_real_rasa_goes_silent_while_claimed_and_comes_back(stack, tg: FakeTelegram) -> None:
    real, desk = stack
    engine = make_engine(desk.db_url)
    init_db(engine)
    async with aiohttp.ClientSession() as http:
        async def say(text: str) -> list[str]:
            async with http.post(f"{real.rasa}/webhooks/rest/webhook", json={"sender": SENDER, "message": text},
                                 timeout=aiohttp.ClientTimeout(total=60)) as resp:
                return [m.get("text") or "" for m in await resp.json()]

        async def tracker() -> dict:
            async with http.get(f"{real.rasa}/conversations/{CONVERSATION}/tracker", params={"token": TOKEN}) as resp:
                assert resp.status == 200
                return await resp.json()

        async with http.get(f"{real.rasa}/conversations/{CONVERSATION}/tracker") as resp:
            assert resp.status == 401  # the API is not open

        replies = await say("Cứu tôi với, chồng tôi đang đánh tôi")
        case_id = int(re.search(r"mã ca #(\d+)", " ".join(replies)).group(1))  # type: ignore[union-attr]
        card = (await eventually(lambda: [m for m in tg.sent(COUNSELORS) if f"· Ca #{case_id}\n" in m.text],
                                 timeout=20))[0]
        tg.push_update(tg.callback_update(user=tg.user(11, "Lan"), message=card, data=f"claim:{case_id}"))

        async def paused() -> bool:
            return bool((await tracker()).get("paused"))
        await eventually(paused, timeout=20)
        assert await say("tôi đang trốn trong phòng") == []
        await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "tôi đang trốn trong phòng" in m.text], timeout=20)

        tg.push_update(tg.text_update(user=tg.user(11, "Lan"), chat_id=COUNSELORS, text="Chị Lan đây, em ổn không?",
                                      reply_to=card))

        async def said(text: str) -> bool:
            return any(e.get("event") == "bot" and e.get("text") == text for e in (await tracker())["events"])
        await eventually(lambda: said("Chị Lan đây, em ổn không?"), timeout=20)

        tg.push_update(tg.callback_update(user=tg.user(11, "Lan"), message=card, data=f"resolve:{case_id}"))
        question = (await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "chọn kết quả xử lý" in m.text],
                                     timeout=20))[0]  # «Đã xử lý» asks what became of the case
        tg.push_update(tg.callback_update(user=tg.user(11, "Lan"), message=question,
                                          data=f"outcome:{case_id}:advised"))
        await eventually(lambda: CaseStore(engine).get(case_id).status == RESOLVED, timeout=20)

        async def resumed() -> bool:
            return not (await tracker()).get("paused")
        await eventually(resumed, timeout=20)

        async def told_bot_is_back() -> bool:
            return any("Trợ lý tự động sẽ tiếp tục" in (e.get("text") or "")
                       for e in (await tracker())["events"] if e.get("event") == "bot")
        await eventually(told_bot_is_back, timeout=20)
        assert await say("xin chào") != []
