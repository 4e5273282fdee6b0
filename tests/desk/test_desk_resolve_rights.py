"""Who may close a case, from the console: the claimant, a supervisor, or anyone with a reason for unclaimed danger."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from bot.cases.models import CLAIMED, OPEN, RESOLVED
from bot.cases.store import CaseStore
from bot.desk.accounts import create_account
from bot.desk.commands import Actor
from tests.desk.helpers import PASSWORD, Desk, login, open_case

pytestmark = pytest.mark.asyncio


async def post(desk: Desk, csrf: str, case_id: int, action: str, text: str = "",
               http: aiohttp.ClientSession | None = None, outcome: str = "") -> str:
    async with (http or desk.http).post(f"{desk.url}/cases/{case_id}/{action}",
                                        data={"csrf_token": csrf, "text": text, "outcome": outcome}) as resp:
        assert resp.status == 200
        return await resp.text()


async def test_a_counselor_cannot_close_a_case_someone_else_claimed_and_a_supervisor_can(desk: Desk,
                                                                                          counselor: str) -> None:
    create_account(desk.engine, "hoa", PASSWORD, "supervisor", "Chị Hoa")
    case_id = open_case(desk.engine, sender="zalo:61")
    assert (await asyncio.to_thread(desk.commands.claim, case_id, Actor("tg:12", "Chị Mai"), "Telegram")).ok
    csrf = await login(desk, counselor)
    page = await post(desk, csrf, case_id, "resolve", outcome="advised")
    assert "chỉ người nhận ca hoặc giám sát" in page
    assert CaseStore(desk.engine).get(case_id).status == CLAIMED
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as supervisor:
        sup_csrf = await login(desk, "hoa", http=supervisor)  # a supervisor sees the counselors' pages
        page = await post(desk, sup_csrf, case_id, "resolve", "Đã chuyển cho công an xã", http=supervisor,
                          outcome="police_commune")
        assert "Đã đánh dấu ca" in page
    assert CaseStore(desk.engine).get(case_id).status == RESOLVED
    resolved = [e for e in CaseStore(desk.engine).events(case_id) if e.kind == "resolved"][0]
    assert resolved.actor == "Chị Hoa <desk:hoa>" and "Đã chuyển cho công an xã" in resolved.detail


async def test_an_unclaimed_danger_case_is_closed_from_the_console_with_a_reason(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine, sender="zalo:62", urgency="danger_now")
    csrf = await login(desk, counselor)
    async with desk.http.get(f"{desk.url}/cases/{case_id}") as resp:
        page = await resp.text()
    form = re.search(rf'<form[^>]*action="/cases/{case_id}/resolve"[^>]*class="resolve-reason".*?</form>', page,
                     re.S)
    assert form and 'name="text"' in form.group(0) and "Lý do" in form.group(0)
    refused = await post(desk, csrf, case_id, "resolve")
    assert "kèm lý do" in refused and CaseStore(desk.engine).get(case_id).status == OPEN
    page = await post(desk, csrf, case_id, "resolve", "Tin nhắn thử của cán bộ xã", outcome="false_alarm")
    assert "Đã đánh dấu ca" in page and "Tin nhắn thử của cán bộ xã" in page  # in the history on the page
    assert CaseStore(desk.engine).get(case_id).status == RESOLVED


async def test_a_supervisor_sees_the_case_list_and_is_named_as_such(desk: Desk) -> None:
    create_account(desk.engine, "hoa", PASSWORD, "supervisor", "Chị Hoa")
    await login(desk, "hoa")
    async with desk.http.get(f"{desk.url}/") as resp:
        page = await resp.text()
        assert resp.url.path == "/cases" and "Chị Hoa (giám sát)" in page and 'href="/cases"' in page
    async with desk.http.get(f"{desk.url}/staff/review") as resp:
        assert resp.status == 403  # the staff pages stay the staff's
