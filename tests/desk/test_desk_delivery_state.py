"""The case page shows each counselor message's real delivery state, read from its outbox rows.

A message is only queued when the counselor presses «Gửi»: the page says so, then follows the push to
the resident's channel and the write to the Rasa conversation separately (pending, retrying, sent, failed).
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.outbox.errors import GiveUp, RetryLater
from tests.desk.helpers import Desk, eventually, login, open_case, start_desk

pytestmark = pytest.mark.asyncio


def states(page: str, text: str) -> list[str]:
    """The delivery labels shown under the history entry of one counselor message."""
    entry = re.search(r'<li class="event kind-counselor_reply"[^>]*>(?:(?!</li>).)*?' + re.escape(text)
                      + r"(?:(?!</li>).)*</li>", page, re.S)
    assert entry, page
    return [re.sub(r"\s+", " ", s).strip() for s in re.findall(r'class="delivery[^"]*"[^>]*>(.*?)</', entry.group(0),
                                                              re.S)]


async def live(desk: Desk, case_id: int) -> str:
    """The live fragment of the case page, as the page fetches it."""
    async with desk.http.get(f"{desk.url}/cases/{case_id}/live") as resp:
        assert resp.status == 200
        return await resp.text()


async def test_each_counselor_message_shows_its_real_state(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine, sender="zalo:31")
    csrf = await login(desk, counselor)

    async def post(action: str, text: str = "") -> str:
        async with desk.http.post(f"{desk.url}/cases/{case_id}/{action}",
                                  data={"csrf_token": csrf, "text": text}) as resp:
            assert resp.status == 200
            return await resp.text()

    await post("claim")
    await eventually(lambda: desk.outbound.sent)  # the «a counselor took your case» message went out

    gate = asyncio.Event()
    send = desk.outbound.send_text

    async def held(sender_id: str, text: str, *, by_human: bool = False) -> None:
        await gate.wait()
        await send(sender_id, text, by_human=by_human)

    desk.outbound.send_text = held  # type: ignore[method-assign]
    page = await post("reply", "Tin thứ nhất")
    assert "Đã gửi tin nhắn" not in page and "hàng gửi" in page  # queued, not sent
    assert states(page, "Tin thứ nhất")[0] == "Đang chờ gửi"
    gate.set()
    await eventually(lambda: _has(live(desk, case_id), "Tin thứ nhất", "Đã gửi tới người dân"))
    assert "Đã ghi vào cuộc trò chuyện" in states(await live(desk, case_id), "Tin thứ nhất")

    desk.outbound.send_text = send  # type: ignore[method-assign]
    desk.outbound.failures, desk.outbound.error = 10**6, RetryLater("zalo:-32")
    await post("reply", "Tin thứ hai")
    await eventually(lambda: _has(live(desk, case_id), "Tin thứ hai", "Gửi lại sau…"))

    desk.outbound.failures, desk.outbound.error = 1, GiveUp("zalo:-230")
    await eventually(lambda: _has(live(desk, case_id), "Tin thứ hai", "Không gửi được"), timeout=10)
    page = await live(desk, case_id)
    assert states(page, "Tin thứ nhất") == ["Đã gửi tới người dân", "Đã ghi vào cuộc trò chuyện"]


async def test_rest_messages_reach_the_resident_through_the_transcript(engine, counselor: str) -> None:
    desk = await start_desk(engine, None)
    try:
        case_id = open_case(engine, sender="rest:web-1")
        csrf = await login(desk, counselor)
        for action, text in (("claim", ""), ("reply", "Chị đây")):
            async with desk.http.post(f"{desk.url}/cases/{case_id}/{action}",
                                      data={"csrf_token": csrf, "text": text}) as resp:
                assert resp.status == 200
        await eventually(lambda: _has(live(desk, case_id), "Chị đây", "Đã ghi vào cuộc trò chuyện"))
        assert states(await live(desk, case_id), "Chị đây") == ["Đã ghi vào cuộc trò chuyện"]  # REST: no push
    finally:
        await desk.stop()


async def _has(page_coro, text: str, label: str) -> bool:
    return any(s.startswith(label) for s in states(await page_coro, text))
