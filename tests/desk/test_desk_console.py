"""The console over HTTP: accounts, login, sessions, CSRF, roles, filters, actions, the staff page."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import aiohttp
import pytest
from sqlalchemy import select

from bot.cases.models import CLAIMED, RESOLVED
from bot.cases.store import CaseStore
from bot.db.engine import session_factory
from bot.desk.accounts import AccountError, create_account
from bot.desk.commands import Actor
from bot.desk.console.pages import EVENT_LABELS
from bot.desk.models import Account
from tests.desk.helpers import (
    PASSWORD,
    ROOT,
    Desk,
    eventually,
    login,
    open_case,
    start_desk,
)

pytestmark = pytest.mark.asyncio


async def test_accounts_need_a_real_password_and_a_known_role(engine) -> None:
    with pytest.raises(AccountError, match="ít nhất 10"):
        create_account(engine, "an", "ngan", "counselor")
    with pytest.raises(AccountError, match="Vai trò"):
        create_account(engine, "an", PASSWORD, "admin")
    with pytest.raises(AccountError, match="dễ đoán"):
        create_account(engine, "binh", "1234567890", "staff")
    create_account(engine, "An", PASSWORD, "staff")
    with pytest.raises(AccountError, match="đã có"):
        create_account(engine, "an", PASSWORD, "counselor")
    with session_factory(engine)() as s:
        account = s.execute(select(Account)).scalar_one()
    assert account.username == "an" and account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


async def test_create_account_command_has_no_default_password(tmp_path) -> None:
    env = {"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "PATH": "/usr/bin:/bin"}

    async def run(stdin: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.desk", "create-account", "mai", "--role", "counselor", "--password-stdin",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
        return int(proc.returncode or 0), out.decode(), err.decode()

    code, _, err = await run("\n")
    assert code == 1 and "ít nhất" in err
    code, out, _ = await run(PASSWORD + "\n")
    assert code == 0 and "mai" in out


async def test_login_logout_and_wrong_password(desk: Desk, counselor: str) -> None:
    async with desk.http.get(f"{desk.url}/cases", allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    async with desk.http.get(f"{desk.url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
    for user, password in (("lan", "sai-mat-khau-123"), ("admin", "admin"), ("nobody", PASSWORD)):
        async with desk.http.post(f"{desk.url}/login", data={"username": user, "password": password,
                                                             "csrf_token": token}) as resp:
            assert resp.status == 401 and "Sai tên đăng nhập hoặc mật khẩu" in await resp.text()
    async with desk.http.post(f"{desk.url}/login", data={"username": "lan", "password": PASSWORD,
                                                         "csrf_token": token}, allow_redirects=False) as resp:
        assert resp.status == 303
        set_cookie = " ".join(resp.headers.getall("Set-Cookie"))
    assert "desk_session=" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    cookie = desk.http.cookie_jar.filter_cookies(desk.url)["desk_session"]
    async with desk.http.get(f"{desk.url}/cases") as resp:
        page = await resp.text()
        assert resp.status == 200 and "Chị Lan" in page
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    stolen = cookie.value
    async with desk.http.post(f"{desk.url}/logout", data={"csrf_token": csrf}, allow_redirects=False) as resp:
        assert resp.status == 303
    async with aiohttp.ClientSession(cookies={"desk_session": stolen}) as other, \
            other.get(f"{desk.url}/cases", allow_redirects=False) as resp:
        assert resp.status == 303  # the old session is gone


async def test_login_form_needs_its_csrf_token_and_guessing_is_slowed(desk: Desk, counselor: str) -> None:
    async with desk.http.post(f"{desk.url}/login", data={"username": "lan", "password": PASSWORD,
                                                         "csrf_token": "forged"}, allow_redirects=False) as resp:
        assert resp.status == 303 and "desk_session" not in resp.cookies
    async with desk.http.get(f"{desk.url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
    for _ in range(10):  # the per-address limit (bot/desk/login_limits.py; more in test_desk_login_brake.py)
        async with desk.http.post(f"{desk.url}/login", data={"username": "lan", "password": "doan-bua-123",
                                                             "csrf_token": token}) as resp:
            assert resp.status == 401
    async with desk.http.post(f"{desk.url}/login", data={"username": "lan", "password": PASSWORD,
                                                         "csrf_token": token}) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"]  # even the right password waits out the brake


async def test_posts_need_the_session_csrf_token(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine)
    csrf = await login(desk, counselor)
    async with desk.http.post(f"{desk.url}/cases/{case_id}/claim", data={}) as resp:
        assert resp.status == 403
    async with desk.http.post(f"{desk.url}/cases/{case_id}/claim", data={"csrf_token": "x" * 43}) as resp:
        assert resp.status == 403
    assert CaseStore(desk.engine).get(case_id).status == "open"
    async with desk.http.post(f"{desk.url}/cases/{case_id}/claim", data={"csrf_token": csrf}) as resp:
        assert resp.status == 200 and "Bạn đã nhận ca" in await resp.text()
    assert CaseStore(desk.engine).get(case_id).status == CLAIMED


async def test_case_list_filters_and_fragment(desk: Desk, counselor: str) -> None:
    a = open_case(desk.engine, sender="zalo:1", urgency="danger_now")
    b = open_case(desk.engine, sender="messenger:2", urgency="needs_support", message="Tôi cần người nói chuyện")
    await login(desk, counselor)

    async def ids(query: str) -> list[int]:
        async with desk.http.get(f"{desk.url}/cases/rows?{query}", headers={"X-Requested-With": "fetch"}) as resp:
            assert resp.status == 200
            return [int(x) for x in re.findall(r'data-case-id="(\d+)"', await resp.text())]

    assert await ids("") == [a, b]  # the queue: danger-now first (was newest first before the queue)
    assert await ids("urgency=danger_now") == [a]
    assert await ids("channel=messenger") == [b]
    assert await ids("view=mine") == []
    async with desk.http.get(f"{desk.url}/cases/rows") as resp:
        assert "0912" not in await resp.text()  # the list masks phone numbers
    async with aiohttp.ClientSession() as anonymous, \
            anonymous.get(f"{desk.url}/cases/rows", headers={"X-Requested-With": "fetch"},
                          allow_redirects=False) as resp:
        assert resp.status == 401


async def test_reply_note_and_resolve_from_console(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine, sender="zalo:88")
    csrf = await login(desk, counselor)

    async def post(action: str, text: str = "", **extra: str) -> str:
        async with desk.http.post(f"{desk.url}/cases/{case_id}/{action}",
                                  data={"csrf_token": csrf, "text": text, **extra}) as r:
            assert r.status == 200
            return await r.text()

    assert "Hãy bấm «Nhận ca» trước" in await post("reply", "Chào em")
    assert "Đã lưu ghi chú" in await post("note", "Đã gọi lại, không bắt máy")
    await post("claim")
    page = await post("reply", "Chị là tư vấn viên Lan")
    assert "Tin nhắn đã vào hàng gửi tới người dân" in page and "Chị là tư vấn viên Lan" in page
    await eventually(lambda: ("zalo:88", "Chị là tư vấn viên Lan", True) in desk.outbound.sent)
    await eventually(lambda: "Chị là tư vấn viên Lan" in desk.rasa.texts("zalo:88"))
    page = await post("resolve")  # resolving asks what became of the case
    assert "Hãy chọn kết quả xử lý" in page and CaseStore(desk.engine).get(case_id).status == CLAIMED
    page = await post("resolve", outcome="advised")
    assert "Đã đánh dấu ca" in page and 'data-status="resolved"' in page
    assert CaseStore(desk.engine).get(case_id).status == RESOLVED
    events = {e.kind: e for e in CaseStore(desk.engine).events(case_id)}
    assert events["note"].detail == "Đã gọi lại, không bắt máy" and events["note"].actor == "Chị Lan <desk:lan>"
    assert events["resolved"].actor == "Chị Lan <desk:lan>"


async def test_a_case_id_too_large_for_the_database_is_a_404_not_a_500(desk: Desk, counselor: str) -> None:
    csrf = await login(desk, counselor)
    for huge in ("99999999999999999999999", str(2**63)):  # SQLite raised OverflowError past 2**63 - 1
        for page in (f"/cases/{huge}", f"/cases/{huge}/live"):
            async with desk.http.get(f"{desk.url}{page}") as resp:
                assert resp.status == 404, page
        async with desk.http.post(f"{desk.url}/cases/{huge}/claim", data={"csrf_token": csrf},
                                  allow_redirects=False) as resp:
            assert resp.status == 404


async def test_a_form_that_is_not_utf8_is_a_400_not_a_500(desk: Desk, counselor: str) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with desk.http.post(f"{desk.url}/login", data=b"\x80", headers=form, allow_redirects=False) as resp:
        assert resp.status == 400 and "biểu mẫu" in await resp.text()
    case_id = open_case(desk.engine)
    csrf = await login(desk, counselor)
    for body, headers in ((b"text=\x80", form), (b"text=\x80", {**form, "X-CSRF-Token": csrf}),
                          (b"text=a", {"Content-Type": "application/x-www-form-urlencoded; charset=\u00ff"})):
        async with desk.http.post(f"{desk.url}/cases/{case_id}/note", data=body, headers=headers,
                                  allow_redirects=False) as resp:
            assert resp.status == 400 and "biểu mẫu" in await resp.text(), body
    assert "note" not in {e.kind for e in CaseStore(desk.engine).events(case_id)}
    async with desk.http.post(f"{desk.url}/cases/{case_id}/note", data={"csrf_token": csrf, "text": "Đã gọi"},
                              allow_redirects=False) as resp:
        assert resp.status == 303
    assert "note" in {e.kind for e in CaseStore(desk.engine).events(case_id)}


async def test_console_account_and_its_telegram_id_are_one_person(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine, sender="telegram:3")
    assert (await asyncio.to_thread(desk.commands.claim, case_id, Actor("tg:11", "Lan"), "Telegram")).ok
    csrf = await login(desk, counselor)  # account linked to Telegram user 11
    async with desk.http.post(f"{desk.url}/cases/{case_id}/reply", data={"csrf_token": csrf, "text": "Chào"}) as r:
        assert "Tin nhắn đã vào hàng gửi tới người dân" in await r.text()


async def test_roles_and_the_staff_review_page(engine) -> None:
    running = await start_desk(engine, None)  # the console hosts the staff review page itself
    try:
        create_account(engine, "lan", PASSWORD, "counselor")
        create_account(engine, "minh", PASSWORD, "staff")
        async with aiohttp.ClientSession() as anonymous, \
                anonymous.get(f"{running.url}/staff/review", allow_redirects=False) as resp:
            assert resp.status == 303
        await login(running, "lan")
        async with running.http.get(f"{running.url}/staff/review") as resp:
            assert resp.status == 403
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as staff:
            running.http, counselor_http = staff, running.http
            try:
                await _login_any(running, "minh")
                async with staff.get(f"{running.url}/") as resp:
                    page = await resp.text()
                    assert resp.url.path == "/staff/review"  # the staff's first (and only) page
                    assert "Hàng chờ duyệt" in page and "minh" in page and "Đăng xuất" in page
                async with staff.get(f"{running.url}/cases") as resp:
                    assert resp.status == 403
                csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore
                async with staff.post(f"{running.url}/staff/review/99999999999999999999999/dismiss",
                                      data={"csrf_token": csrf}, allow_redirects=False) as resp:
                    assert resp.status == 404  # an id too large for the database, not a 500
            finally:
                running.http = counselor_http
    finally:
        await running.stop()


async def _login_any(desk: Desk, username: str) -> None:
    async with desk.http.get(f"{desk.url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
    async with desk.http.post(f"{desk.url}/login", data={"username": username, "password": PASSWORD,
                                                         "csrf_token": token}, allow_redirects=False) as resp:
        assert resp.status == 303


def test_every_case_event_kind_the_code_writes_has_a_vietnamese_label() -> None:
    kinds = set()
    for path in (ROOT / "bot").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        kinds |= set(re.findall(r'CaseEvent\([^)]*?kind="([a-z_]+)"', source, flags=re.S))
    assert {"created", "claimed", "resolved", "reopened"} <= kinds  # the scan sees the code
    assert kinds - set(EVENT_LABELS) == set()
