"""The report page of the console: staff (and supervisors) see the figures and download both files; counselors get 403."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from openpyxl import load_workbook

from bot.desk.accounts import create_account
from bot.desk.app import create_app
from bot.reporting.conversations import open_tracker
from bot.timeutil import ManualClock
from tests.desk.helpers import API_TOKEN, PASSWORD, Desk, FakeOutbound, RecordingRasa, desk_runtime, desk_settings
from tests.reporting.seed import SENDER_SECRET, seed_all

pytestmark = pytest.mark.asyncio
QUERY = "from=2026-11-15&to=2026-11-21"


async def login(desk: Desk, username: str) -> None:
    """Log in through the form (GET pages need no CSRF token; a staff account has no /cases page)."""
    async with desk.http.get(f"{desk.url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
    async with desk.http.post(f"{desk.url}/login", data={"username": username, "password": PASSWORD,
                                                         "csrf_token": token}, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()


@pytest_asyncio.fixture
async def desk(engine, tmp_path: Path) -> AsyncIterator[Desk]:
    """A desk (no Telegram) over the seeded database, reading the seeded tracker store."""
    seed_all(engine, tmp_path / "tracker.db")
    tracker = open_tracker(f"sqlite:///{tmp_path / 'tracker.db'}")
    clock = ManualClock(datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc))
    app = create_app(desk_runtime(engine), API_TOKEN, settings=desk_settings(None, escalation_interval=3600), clock=clock,
                     outbound=FakeOutbound(), rasa=RecordingRasa(), tracker_engine=tracker)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    running = Desk(app, runner, f"http://127.0.0.1:{port}", engine, None, FakeOutbound(), RecordingRasa(), clock, http)
    yield running
    await running.stop()
    assert tracker is not None
    tracker.dispose()


async def test_staff_see_the_figures_and_download_both_files(desk: Desk) -> None:
    create_account(desk.engine, "hoa", PASSWORD, "staff")
    await login(desk, "hoa")
    async with desk.http.get(f"{desk.url}/staff/report?{QUERY}") as resp:
        assert resp.status == 200
        page = await resp.text()
    assert "Báo cáo kết quả truyền thông" in page and 'href="/staff/report"' in page  # the nav link
    assert "13 người dân trong 18 cuộc trò chuyện" in page
    assert '<td>Telegram</td><td class="count">&lt;5</td><td class="count">&lt;5</td>' in page
    assert '<td>Nguy hiểm ngay</td><td class="count">7</td>' in page
    assert SENDER_SECRET not in page and "0912345678" not in page and "chị Hoa" not in page
    async with desk.http.get(f"{desk.url}/staff/report/file.xlsx?{QUERY}&province=ha+noi") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Disposition"] == \
            'attachment; filename="bao-cao-2026-11-15-2026-11-21-ha-noi.xlsx"'
        book = load_workbook(io.BytesIO(await resp.read()))
    assert [c.value for c in book["Ca theo mức độ"][2]] == ["Nguy hiểm ngay", 5]
    async with desk.http.get(f"{desk.url}/staff/report/file.pdf?{QUERY}") as resp:
        assert resp.status == 200 and resp.content_type == "application/pdf"
        assert (await resp.read()).startswith(b"%PDF")


async def test_bad_input_gets_a_vietnamese_message(desk: Desk) -> None:
    create_account(desk.engine, "hoa", PASSWORD, "staff")
    await login(desk, "hoa")
    for query, message in (("from=2026-11-21&to=2026-11-15", "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu."),
                           (f"{QUERY}&province=Atlantis", "Không biết tỉnh, thành phố «Atlantis»."),
                           ("from=hôm-qua", "Ngày không hợp lệ"), ("from=2020-01-01&to=2026-11-21", "tối đa 366 ngày")):
        async with desk.http.get(f"{desk.url}/staff/report?{query}") as resp:
            assert resp.status == 400 and message in await resp.text(), query
    async with desk.http.get(f"{desk.url}/staff/report/file.pdf?{QUERY}&province=Atlantis") as resp:
        assert resp.status == 400


async def test_counselors_are_refused_and_strangers_sent_to_login(desk: Desk) -> None:
    async with desk.http.get(f"{desk.url}/staff/report/file.xlsx?{QUERY}", allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    create_account(desk.engine, "lan", PASSWORD, "counselor")
    await login(desk, "lan")
    for path in ("/staff/report", "/staff/report/file.xlsx", "/staff/report/file.pdf"):
        async with desk.http.get(f"{desk.url}{path}?{QUERY}") as resp:
            assert resp.status == 403, path
    async with desk.http.get(f"{desk.url}/cases") as resp:
        assert resp.status == 200 and 'href="/staff/report"' not in await resp.text()  # no link for counselors


async def test_supervisors_may_read_it(desk: Desk) -> None:
    create_account(desk.engine, "mai", PASSWORD, "supervisor")
    await login(desk, "mai")
    async with desk.http.get(f"{desk.url}/staff/report?{QUERY}") as resp:
        assert resp.status == 200
