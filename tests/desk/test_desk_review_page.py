"""The review queue page in the desk console: staff only, assign / new topic / dismiss, masked text."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web

from bot.cases.store import CaseStore
from bot.config import CONTENT_DIR, ROOT
from bot.content.reloading import ContentLibrary
from bot.desk.accounts import create_account
from bot.desk.app import create_app
from bot.desk.console.review import PATH
from bot.review_queue import record_unanswered
from bot.runtime import Runtime
from bot.staff import review
from tests.desk.helpers import PASSWORD, FakeOutbound, RecordingRasa, desk_settings

pytestmark = pytest.mark.asyncio


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of the content and NLU data, so the page writes there and not into the repository."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    shutil.copytree(ROOT / "data" / "nlu", tmp_path / "nlu")
    return folder


@pytest.fixture
async def console(engine, content: Path):
    """A desk over a runtime on the content copy, served on loopback, and an HTTP client with cookies."""
    runtime = Runtime(engine, CaseStore(engine), ContentLibrary.load(content))
    app = create_app(runtime, "api-token", settings=desk_settings(None, nlu_dir=content.parent / "nlu"),
                     outbound=FakeOutbound(), rasa=RecordingRasa())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    yield url, http
    await http.close()
    await runner.cleanup()


async def _login(url: str, http: aiohttp.ClientSession, username: str) -> None:
    async with http.get(f"{url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
    async with http.post(f"{url}/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                                "next": PATH}, allow_redirects=False) as resp:
        assert resp.status == 303


async def _page(url: str, http: aiohttp.ClientSession) -> tuple[str, str]:
    async with http.get(f"{url}{PATH}") as resp:
        assert resp.status == 200
        page = await resp.text()
    return page, re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]


async def test_counselors_cannot_open_the_queue(engine, console) -> None:
    url, http = console
    create_account(engine, "lan", PASSWORD, "counselor")
    await _login(url, http, "lan")
    async with http.get(f"{url}{PATH}") as resp:
        assert resp.status == 403


async def test_staff_sees_masked_messages_and_assigns_one(engine, console, content: Path) -> None:
    url, http = console
    create_account(engine, "hoa", PASSWORD, "staff")
    store = CaseStore(engine)
    record_unanswered(store, "zalo:1", "cho hỏi thủ tục ly hôn, sđt tôi 0912345678", "nlu_fallback", 0.3)
    await _login(url, http, "hoa")
    page, csrf = await _page(url, http)
    assert "thủ tục ly hôn" in page and "0912345678" not in page
    [item] = review.list_pending(engine)
    async with http.post(f"{url}{PATH}/{item['id']}/assign",
                         data={"csrf_token": csrf, "topic": "where_to_report", "text": "thủ tục ly hôn ở đâu"},
                         allow_redirects=False) as resp:
        assert resp.status == 303
    topic = yaml.safe_load((content / "faq" / "where_to_report.yml").read_text(encoding="utf-8"))
    assert "thủ tục ly hôn ở đâu" in topic["examples"]
    assert review.list_pending(engine) == []


async def test_post_without_csrf_is_refused_and_dismiss_works(engine, console) -> None:
    url, http = console
    create_account(engine, "hoa", PASSWORD, "staff")
    record_unanswered(CaseStore(engine), "telegram:2", "giá vàng hôm nay", "out_of_scope", 0.9)
    await _login(url, http, "hoa")
    _, csrf = await _page(url, http)
    [item] = review.list_pending(engine)
    async with http.post(f"{url}{PATH}/{item['id']}/dismiss", data={}, allow_redirects=False) as resp:
        assert resp.status in (400, 403)
    assert len(review.list_pending(engine)) == 1
    async with http.post(f"{url}{PATH}/{item['id']}/dismiss", data={"csrf_token": csrf},
                         allow_redirects=False) as resp:
        assert resp.status == 303
    assert review.list_pending(engine) == []
