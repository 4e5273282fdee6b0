"""The /roster page over HTTP: a supervisor edits hours and roster (CSRF, role), counselors read it and hand over."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from urllib.parse import unquote

import aiohttp
import pytest
from sqlalchemy.engine import Engine

from bot.cases import shifts
from bot.cases.models import CLAIMED
from bot.cases.store import CaseStore
from bot.desk.accounts import create_account
from bot.desk.commands import Actor
from bot.timeutil import VN_TZ
from tests.desk.helpers import PASSWORD, Desk, login, open_case

pytestmark = pytest.mark.asyncio


@pytest.fixture
def people(engine: Engine) -> None:
    create_account(engine, "hoa", PASSWORD, "supervisor", "Chị Hoa", telegram_user_id=13)
    create_account(engine, "lan", PASSWORD, "counselor", "Chị Lan", telegram_user_id=11)
    create_account(engine, "mai", PASSWORD, "counselor", "Chị Mai", telegram_user_id=12)


async def post(desk: Desk, path: str, data: dict, http: aiohttp.ClientSession | None = None) -> tuple[int, str]:
    """POST a form; returns the status and the one-time message the redirect carries."""
    async with (http or desk.http).post(f"{desk.url}{path}", data=data, allow_redirects=False) as resp:
        flash = resp.cookies.get("desk_flash")
        return resp.status, unquote(flash.value) if flash else ""


async def page(desk: Desk, http: aiohttp.ClientSession | None = None) -> str:
    async with (http or desk.http).get(f"{desk.url}/roster") as resp:
        assert resp.status == 200
        return await resp.text()


async def test_supervisor_edits_hours_and_roster_counselors_only_read(desk: Desk, engine: Engine, people) -> None:
    csrf = await login(desk, "hoa")
    hours = {"csrf_token": csrf, **{f"opens_{i}": "08:00" for i in range(6)}, **{f"closes_{i}": "17:30" for i in range(6)}}
    assert await post(desk, "/roster/hours", hours) == (303, "Đã lưu giờ làm việc.")
    week = shifts.week_hours(engine)
    assert week.days[0] == shifts.DayHours(480, 1050) and week.days[6] is None  # Sunday left empty: off
    today = datetime.now(VN_TZ).date().isoformat()
    duty = {"csrf_token": csrf, "username": "lan", "kind": "counselor", "day": today, "starts": "00:00", "ends": "23:59"}
    assert (await post(desk, "/roster/duties", duty))[0] == 303
    assert (await post(desk, "/roster/duties", duty))[0] == 303  # the same duty twice is one duty
    night = {**duty, "username": "hoa", "kind": "on_call", "starts": "21:00", "ends": "07:00"}
    assert (await post(desk, "/roster/duties", night))[0] == 303
    rows = shifts.duties_between(engine, datetime.now(VN_TZ) - timedelta(days=1), datetime.now(VN_TZ) + timedelta(days=3))
    assert sorted((d.username, d.on_call) for d in rows) == [("hoa", True), ("lan", False)]
    [on_call] = [d for d in rows if d.on_call]
    assert on_call.ends_at - on_call.starts_at == timedelta(hours=10)  # a night shift ends the next morning
    html = await page(desk)
    assert "Chị Lan" in html and "Giám sát trực" in html and 'name="opens_0" value="08:00"' in html
    # Only a supervisor may be on call; a counselor cannot edit anything, and a POST without CSRF is refused.
    assert "chỉ tài khoản giám sát" in (await post(desk, "/roster/duties", {**night, "username": "mai"}))[1]
    assert len(shifts.duties_between(engine, datetime.now(VN_TZ) - timedelta(days=1),
                                     datetime.now(VN_TZ) + timedelta(days=3))) == 2
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        csrf_lan = await login(desk, "lan", http=other)
        html = await page(desk, other)
        assert "Chị Lan" in html and "/roster/hours" not in html and "Thêm vào lịch trực" not in html
        assert (await post(desk, "/roster/hours", {**hours, "csrf_token": csrf_lan}, other))[0] == 403
        assert (await post(desk, f"/roster/duties/{rows[0].id}/remove", {"csrf_token": csrf_lan}, other))[0] == 403
    assert (await post(desk, f"/roster/duties/{rows[0].id}/remove", {}))[0] == 403  # no CSRF token
    assert await post(desk, f"/roster/duties/{rows[0].id}/remove", {"csrf_token": csrf}) == (303, "Đã xóa ca trực.")
    assert (await post(desk, f"/roster/duties/{rows[0].id}/remove", {"csrf_token": csrf}))[1] == \
        "Ca trực này đã được xóa trước đó."
    assert len(shifts.duties_between(engine, datetime.now(VN_TZ) - timedelta(days=1),
                                     datetime.now(VN_TZ) + timedelta(days=3))) == 1


async def test_bad_hours_are_refused_and_nothing_is_saved(desk: Desk, engine: Engine, people) -> None:
    csrf = await login(desk, "hoa")
    status, flash = await post(desk, "/roster/hours", {"csrf_token": csrf, "opens_0": "21:00", "closes_0": "07:30"})
    assert status == 303 and flash.startswith("Chưa lưu") and "Thứ Hai" in flash
    assert shifts.week_hours(engine, shifts.parse_hours("07:30-21:00")).days[0] == shifts.DayHours(450, 1260)


async def test_counselor_hands_over_from_the_roster_page(desk: Desk, engine: Engine, people) -> None:
    lan = Actor("desk:lan", "Chị Lan", frozenset({"tg:11"}))
    case_id = open_case(engine, "zalo:5", "needs_support")
    assert (await asyncio.to_thread(desk.commands.claim, case_id, lan, "bảng điều khiển")).ok
    csrf = await login(desk, "lan")
    html = await page(desk)
    assert "Bàn giao khi hết ca" in html and f'value="{case_id}"' in html and "Chị Mai" in html  # no roster: anyone
    status, flash = await post(desk, "/roster/handover", {"csrf_token": csrf, "case_id": str(case_id), "to": "mai",
                                                          "note": "Đã hẹn gọi lại lúc 9 giờ"})
    assert status == 303 and flash == f"Đã bàn giao 1 ca (#{case_id}) cho Chị Mai."
    case = CaseStore(engine).get(case_id)
    assert case.status == CLAIMED and case.claimed_by == "Chị Mai <desk:mai>"
    assert "Bàn giao khi hết ca" not in await page(desk)  # nothing left to hand over
    async with desk.http.get(f"{desk.url}/cases/{case_id}") as resp:
        history = await resp.text()
    assert "· Bàn giao ca ·" in history and "Đã hẹn gọi lại lúc 9 giờ" in history
    assert (await post(desk, "/roster/handover", {"case_id": str(case_id), "to": "", "note": "xxxxxx"}))[0] == 403
