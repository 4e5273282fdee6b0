"""Issue 4's "done when", on the REST channel, with the desk killed (-9) and restarted midway.

Urgent message on REST → a case → one card in the group → claim by button (pressed while the desk is
dead) → the console shows the case claimed → the Rasa conversation is paused and the resident told →
the resident's next message gets no bot reply and reaches the group → the counselor's reply (from
Telegram and from the console) reaches the resident's conversation → resolve hands it back to the bot.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.cases.models import CLAIMED, RESOLVED
from bot.cases.store import CaseStore
from bot.db.engine import make_engine
from bot.db.schema import init_db
from tests.desk.helpers import (
    API_TOKEN,
    COUNSELORS,
    PASSWORD,
    ROOT,
    DeskProcess,
    eventually,
)
from tests.fakes.rasa import FakeRasa
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio
RASA_TOKEN = "rasa-flow-token"
SENDER = "web-7f3a"


def create_account_with_cli(desk: DeskProcess, username: str, telegram_id: int) -> str:
    """Run `python -m bot.desk create-account` as an operator would; returns its output."""
    done = subprocess.run([sys.executable, "-m", "bot.desk", "create-account", username, "--role", "counselor",
                           "--name", "Chị Lan", "--telegram-id", str(telegram_id), "--password-stdin"],
                          input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, env=desk.env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def console_login(http: aiohttp.ClientSession, url: str, username: str) -> str:
    """Log in through the form; returns the session's CSRF token."""
    async with http.get(f"{url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
    async with http.post(f"{url}/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                                "next": "/cases"}) as resp:
        page = await resp.text()
        assert resp.status == 200 and "Hàng đợi" in page
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]


async def rest(http: aiohttp.ClientSession, rasa: FakeRasa, text: str) -> list[dict]:
    """A resident's message on the REST channel; returns the bot's replies."""
    async with http.post(f"{rasa.url}/webhooks/rest/webhook", json={"sender": SENDER, "message": text}) as resp:
        assert resp.status == 200
        return await resp.json()


async def bot_texts(rasa: FakeRasa) -> list[str]:
    """Texts of the conversation's bot events, as stored in Rasa's tracker store."""
    return [e.get("text") for e in await rasa.events_of(SENDER) if e["event"] == "bot"]


async def test_rest_handoff_survives_desk_kill_and_restart(tmp_path: Path, tg: FakeTelegram) -> None:
    tracker_db = str(tmp_path / "tracker.db")
    desk_proc = DeskProcess(tmp_path, tg, rasa_token=RASA_TOKEN)
    engine = make_engine(desk_proc.db_url)
    init_db(engine)
    rasa = await FakeRasa(RASA_TOKEN, tracker_db, engine).start()
    desk_proc.env["RASA_URL"] = rasa.url
    assert "Đã tạo tài khoản" in create_account_with_cli(desk_proc, "lan", telegram_id=11)
    await desk_proc.start()
    http = aiohttp.ClientSession()
    console = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        # 1. An urgent message on REST opens a case; the group gets exactly one card.
        replies = await rest(http, rasa, "Cứu tôi với, chồng tôi đang đánh tôi, số tôi 0912345678")
        case_id = int(re.search(r"mã ca #(\d+)", replies[0]["text"]).group(1))  # type: ignore[union-attr]
        await tg.wait_for("sendMessage", chat_id=COUNSELORS)
        card = tg.sent(COUNSELORS)[0]
        assert f"· Ca #{case_id}\n" in card.text and "0912345678" not in card.text

        # 2. The desk dies; meanwhile a counselor presses «Nhận ca». After the restart the press is handled.
        await asyncio.sleep(0.3)
        desk_proc.kill9()
        tg.push_update(tg.callback_update(user=tg.user(11, "Lan"), message=card, data=f"claim:{case_id}"))
        await desk_proc.start()
        answers = await tg.wait_for("answerCallbackQuery", timeout=15)
        assert f"Bạn đã nhận ca #{case_id}" in str(answers[0].params["text"])
        await eventually(lambda: "✋ Đã nhận" in tg.message(COUNSELORS, card.message_id).text, timeout=10)

        # 3. The console shows the case claimed by her (console account linked to Telegram user 11).
        csrf = await console_login(console, desk_proc.url, "lan")
        async with console.get(f"{desk_proc.url}/cases/{case_id}") as resp:
            page = await resp.text()
        assert 'data-status="claimed"' in page and "Lan" in page and "Bạn đang phụ trách ca này" in page
        assert CaseStore(engine).get(case_id).status == CLAIMED

        # 4. Rasa is paused (through its API, with the token) and the resident is told.
        await eventually(lambda: rasa.is_paused(SENDER), timeout=10)
        await eventually(lambda: _any_async(bot_texts(rasa), "tư vấn viên đã nhận"), timeout=10)

        # 5. The resident writes again: no bot reply; the message reaches the group.
        assert await rest(http, rasa, "Tôi đang trốn trong phòng tắm") == []
        fwd = await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "Tôi đang trốn trong phòng tắm" in m.text],
                               timeout=10)
        assert "người dân nhắn thêm" in fwd[0].text and fwd[0].reply_to_message_id == card.message_id

        # 6. The counselor answers by replying to the card in Telegram, and from the console.
        tg.push_update(tg.text_update(user=tg.user(11, "Lan"), chat_id=COUNSELORS,
                                      text="Chị là tư vấn viên, em khóa cửa lại nhé.", reply_to=card))
        await eventually(lambda: _any_async(bot_texts(rasa), "em khóa cửa lại nhé"), timeout=10)
        desk_proc.kill9()  # and once more, before the console reply
        await desk_proc.start()
        async with console.post(f"{desk_proc.url}/cases/{case_id}/reply",
                                data={"csrf_token": csrf, "text": "Chị đã báo công an khu vực."}) as resp:
            assert resp.status == 200 and "Tin nhắn đã vào hàng gửi tới người dân" in await resp.text()
        await eventually(lambda: _any_async(bot_texts(rasa), "Chị đã báo công an khu vực."), timeout=10)
        async with http.get(f"{desk_proc.url}/api/conversations/{SENDER}/messages",
                            headers={"Authorization": f"Bearer {API_TOKEN}"}) as resp:
            body = await resp.json()
        assert [m["text"] for m in body["messages"]] == ["Chị là tư vấn viên, em khóa cửa lại nhé.",
                                                        "Chị đã báo công an khu vực."]
        assert body["human_owner_case"] == case_id
        assert await rest(http, rasa, "Cảm ơn chị") == []  # still silent while claimed

        # 7. «Đã xử lý» hands the conversation back; the bot says so and answers again.
        tg.push_update(tg.callback_update(user=tg.user(11, "Lan"), message=card, data=f"resolve:{case_id}"))
        question = (await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "chọn kết quả xử lý" in m.text],
                                     timeout=10))[0]  # «Đã xử lý» asks what became of the case
        tg.push_update(tg.callback_update(user=tg.user(11, "Lan"), message=question,
                                          data=f"outcome:{case_id}:advised"))
        await eventually(lambda: CaseStore(engine).get(case_id).status == RESOLVED, timeout=10)
        assert CaseStore(engine).get(case_id).outcome == "advised"
        await eventually(lambda: _not_async(rasa.is_paused(SENDER)), timeout=10)
        await eventually(lambda: _any_async(bot_texts(rasa), "Trợ lý tự động sẽ tiếp tục"), timeout=10)
        assert await rest(http, rasa, "xin chào") != []

        # Exactly one card, each counselor message once in the transcript, never a bad token.
        await asyncio.sleep(0.5)
        cards = [m for m in tg.sent(COUNSELORS) if (m.edits or m.reply_markup) and m is not question]
        assert len([m for m in tg.sent(COUNSELORS) if f"· Ca #{case_id}\n" in (m.edits[0] if m.edits else m.text)]) == 1
        assert len(cards) == 1
        texts = await bot_texts(rasa)
        for said in ("Chị là tư vấn viên, em khóa cửa lại nhé.", "Chị đã báo công an khu vực."):
            assert texts.count(said) == 1
        assert sum("tư vấn viên đã nhận" in t for t in texts) == 1
        assert rasa.rejected == 0
        kinds = [e.kind for e in CaseStore(engine).events(case_id)]
        for kind in ("created", "notified", "claimed", "resident_message", "counselor_reply", "resolved"):
            assert kind in kinds
    finally:
        await http.close()
        await console.close()
        desk_proc.stop()
        await rasa.stop()


async def _any_async(texts_coro, needle: str) -> bool:
    return any(needle in (t or "") for t in await texts_coro)


async def _not_async(coro) -> bool:
    return not await coro
