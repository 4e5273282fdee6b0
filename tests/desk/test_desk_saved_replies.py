"""Saved replies: seeded once, edited by staff and supervisors, filled for the case's province on the case page."""

from __future__ import annotations

import re

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.content.provinces import ProvinceMatch
from bot.db.engine import session_factory
from bot.desk.accounts import create_account
from bot.desk.models import SavedReply
from bot.desk.saved_replies import SEEDS, all_replies, check, fill, placeholder_values, save, seed
from bot.timeutil import utcnow
from tests.desk.helpers import PASSWORD, Desk, content_library, login, open_case

pytestmark = pytest.mark.asyncio


async def _editor_login(desk: Desk, username: str, http: aiohttp.ClientSession) -> str:
    """Log a staff member or supervisor in; returns the CSRF token (read on the saved-replies page)."""
    async with http.get(f"{desk.url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)
    async with http.post(f"{desk.url}/login", data={"username": username, "password": PASSWORD,
                                                    "csrf_token": token, "next": "/saved-replies"}) as resp:
        page = await resp.text()
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _count(engine) -> int:
    with session_factory(engine)() as s:
        return s.execute(select(func.count()).select_from(SavedReply)).scalar_one()


def test_seeding_is_idempotent_and_a_hidden_seed_stays_hidden(engine) -> None:
    assert 6 <= len(SEEDS) <= 8
    assert seed(engine, utcnow()) == len(SEEDS) and seed(engine, utcnow()) == 0 and _count(engine) == len(SEEDS)
    first = all_replies(engine, utcnow())[0]
    with session_factory(engine).begin() as s:
        s.get(SavedReply, first.id).active = False
    assert seed(engine, utcnow()) == 0 and first.id not in [r.id for r in all_replies(engine, utcnow())]


def test_the_same_new_reply_sent_twice_is_one_reply(engine) -> None:
    for _ in range(2):
        assert save(engine, None, "Hẹn gọi lại", "Mình gọi lại sau 10 phút nhé.", 5, "Chị Hoa <desk:hoa>",
                    utcnow()) is None
    assert [r.title for r in all_replies(engine, utcnow())].count("Hẹn gọi lại") == 1


def test_the_seeds_cover_the_daily_answers_and_hold_no_number_of_their_own() -> None:
    titles = " ".join(title for _, title, _ in SEEDS)
    for topic in ("bằng chứng", "cấm tiếp xúc", "tạm lánh", "an toàn"):
        assert topic in titles
    for _, _, body in SEEDS:
        assert check("t", body) is None
        assert not re.search(r"\d{3}", body.replace("2022", "")), body  # numbers come from the directory


def test_placeholders_are_filled_from_the_hotline_directory() -> None:
    library = content_library()
    province = next(h.province for h in library.hotlines.counseling if h.province)
    current = library.provinces.current_of(province)
    values = placeholder_values(library, current)
    own = library.hotlines.counseling_for(ProvinceMatch(current, current), library.provinces).own
    assert own and own[0].number in values["so_tu_van"]  # the province's own line when it has one
    national = placeholder_values(library, None)["so_tu_van"]
    assert library.hotlines.counseling_for(None, library.provinces).national[0].number in national
    assert all(h.number in values["so_khan_cap"] for h in library.hotlines.emergency)
    assert fill("Gọi {so_tu_van} ở {tinh}; {khac} giữ nguyên", values) == \
        f"Gọi {values['so_tu_van']} ở {current}; {{khac}} giữ nguyên"
    assert check("Tiêu đề", "Gọi {so_dien_thoai}") is not None and check("", "x") is not None


async def test_the_case_page_offers_the_replies_filled_for_the_case(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine, sender="zalo:601")  # the helper's case is in Hà Nội
    await login(desk, counselor)
    async with desk.http.get(f"{desk.url}/cases/{case_id}") as resp:
        page = await resp.text()
    texts = re.findall(r'data-saved-reply="\d+" data-text="([^"]*)"', page)
    assert len(texts) == len(SEEDS)
    shelter = next(t for t in texts if "tạm lánh" in t and "Hà Nội" in t)
    assert "{so_tu_van}" not in shelter and "113" in shelter
    assert '<script src="/static/case-tools.js"' in page
    async with desk.http.get(f"{desk.url}/static/case-tools.js") as resp:
        script = await resp.text()
    assert resp.status == 200 and "data-reply-box" in script and "submit" not in script  # inserts, never sends


async def test_staff_and_supervisors_edit_and_counselors_cannot(desk: Desk, counselor: str) -> None:
    create_account(desk.engine, "hoa", PASSWORD, "supervisor", "Chị Hoa")
    create_account(desk.engine, "binh", PASSWORD, "staff", "Anh Bình")
    csrf = await login(desk, counselor)
    async with desk.http.get(f"{desk.url}/saved-replies") as resp:
        assert resp.status == 403
    async with desk.http.post(f"{desk.url}/saved-replies", data={"csrf_token": csrf, "title": "X", "body": "Y"}) as resp:
        assert resp.status == 403
    for username in ("hoa", "binh"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            token = await _editor_login(desk, username, http)
            async with http.get(f"{desk.url}/saved-replies") as resp:
                page = await resp.text()
            assert resp.status == 200 and "{so_tu_van}" in page
            async with http.post(f"{desk.url}/saved-replies", data={
                    "csrf_token": token, "title": f"Hẹn gọi lại ({username})",
                    "body": "Mình sẽ gọi lại cho chị/em qua số {so_tu_van}.", "position": "50"}) as resp:
                assert "Đã lưu câu trả lời mẫu" in await resp.text()
            async with http.post(f"{desk.url}/saved-replies", data={
                    "csrf_token": token, "title": "Sai", "body": "Gọi {so_la}"}) as resp:
                assert "Chỗ điền không có: {so_la}" in await resp.text()
    rows = {r.title: r for r in all_replies(desk.engine, utcnow())}
    assert rows["Hẹn gọi lại (hoa)"].updated_by == "Chị Hoa <desk:hoa>" and "Sai" not in rows
    target = rows["Hẹn gọi lại (binh)"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _editor_login(desk, "binh", http)
        async with http.post(f"{desk.url}/saved-replies/{target.id}", data={
                "csrf_token": token, "title": "Hẹn gọi lại", "body": "Mình gọi lại sau 10 phút nhé.",
                "position": "1"}) as resp:
            assert "Đã lưu" in await resp.text()
        async with http.post(f"{desk.url}/saved-replies/{rows['Hẹn gọi lại (hoa)'].id}/hide",
                             data={"csrf_token": token}) as resp:
            assert "Đã ẩn" in await resp.text()
    titles = [r.title for r in all_replies(desk.engine, utcnow())]
    assert "Hẹn gọi lại" in titles and "Hẹn gọi lại (hoa)" not in titles and "Hẹn gọi lại (binh)" not in titles
