"""The console in a real headless browser (Debian's chromium driven by Playwright).

Reusable pieces for other browser tests (`tests/desk/test_desk_browser_<name>.py` import them): the `browser`
fixture, `open_page` (a page at a viewport: `VIEWPORTS["phone"]` 390×844, `VIEWPORTS["desktop"]` 1366×900),
`sign_in`, `assert_fits` (no sideways scrolling), `shoot` (a screenshot into results/screenshots/, which
`make screenshots` copies to docs/images/) and `CONSOLE_PAGES`, the one list of console pages every viewport
test visits: add a page there when you add one to the console.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from sqlalchemy import update

from bot.cases.models import CLAIMED, RESOLVED, Case
from bot.cases.store import CaseStore
from bot.db.engine import session_factory
from bot.desk.accounts import create_account
from bot.desk.commands import Actor
from bot.review_queue import record_unanswered
from tests.desk.helpers import PASSWORD, ROOT, Desk, eventually, open_case

CHROMIUM = os.environ.get("DESK_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
SCREENSHOTS = ROOT / "results" / "screenshots"
RED = "rgb(166, 27, 27)"

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed (.ci/run installs it)")]


@dataclass(frozen=True)
class ConsolePage:
    """A console page every viewport test visits: `path` may name `{case_id}`; `role` is who may open it."""

    name: str
    path: str
    role: str  # "supervisor" (also a counselor) or "staff"


CONSOLE_PAGES = [
    ConsolePage("queue", "/cases", "supervisor"),
    ConsolePage("case", "/cases/{case_id}", "supervisor"),
    ConsolePage("review", "/staff/review", "staff"),
    ConsolePage("roster", "/roster", "supervisor"),                 # D2
    ConsolePage("saved-replies", "/saved-replies", "supervisor"),   # D3
    ConsolePage("outcomes", "/outcomes", "supervisor"),             # D3
    ConsolePage("broadcasts", "/broadcasts", "staff"),              # issue 12 (C)
    ConsolePage("broadcast-new", "/broadcasts/new", "staff"),       # issue 12 (C)
]


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless chromium, closed after the test."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


async def open_page(browser: Any, viewport: str | None = None) -> Any:
    """A fresh page (its own cookies) at a named viewport, or chromium's default size."""
    size = VIEWPORTS[viewport] if viewport else None
    context = await browser.new_context(locale="vi-VN", viewport=size, device_scale_factor=1,
                                        is_mobile=viewport == "phone", has_touch=viewport == "phone")
    tab = await context.new_page()
    tab.set_default_timeout(10_000)
    return tab


@pytest_asyncio.fixture
async def page(browser: Any) -> Any:
    """A fresh browser page at chromium's default size."""
    return await open_page(browser)


async def sign_in(page: Any, desk: Desk, username: str, password: str = PASSWORD) -> None:
    """Log in through the form; lands on the account's first page."""
    await page.goto(f"{desk.url}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()


async def assert_fits(page: Any, what: str) -> None:
    """The page does not scroll sideways at the current viewport.

    A mobile viewport widens `innerWidth` to the content (the page is zoomed out), so the width the page has is
    also read from `clientWidth`, which stays the device's.
    """
    width, inner, client = await page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth, document.documentElement.clientWidth]")
    assert width <= min(inner, client), f"{what}: {width}px wide in a {min(inner, client)}px viewport"


async def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot as results/screenshots/desk-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"desk-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def test_counselor_logs_in_sees_new_case_live_claims_replies_resolves(desk: Desk, counselor: str,
                                                                           page) -> None:
    # Log in.
    await page.goto(f"{desk.url}/cases")
    assert "/login" in page.url
    await page.fill("input[name=username]", counselor)
    await page.fill("input[name=password]", "mật khẩu sai rồi")
    await page.click("button[type=submit]")
    assert "Sai tên đăng nhập hoặc mật khẩu" in await page.inner_text("main")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{desk.url}/cases")
    assert "Không có ca nào" in await page.inner_text("tbody")

    # A new case appears without a reload (the marker set on this document survives).
    await page.evaluate("window.__stillHere = true")
    case_id = await asyncio.to_thread(open_case, desk.engine, "zalo:321", "danger_now",
                                      "Anh ấy đang đập cửa, tôi sợ lắm")
    row = page.locator(f'tr[data-case-id="{case_id}"]')
    await row.wait_for(state="visible", timeout=8000)
    assert await page.evaluate("window.__stillHere === true")
    assert "NGUY HIỂM NGAY" in await row.inner_text()
    assert "new" in (await row.get_attribute("class") or "")

    # Filters update the list in place too.
    await page.select_option("select[name=urgency]", "needs_support")
    await page.locator(f'tr[data-case-id="{case_id}"]').wait_for(state="detached")
    assert await page.evaluate("window.__stillHere === true") and "urgency=needs_support" in page.url
    await page.select_option("select[name=urgency]", "")
    await row.wait_for(state="visible")

    # Claim it from the case page.
    await row.locator("a").click()
    await page.wait_for_url(f"{desk.url}/cases/{case_id}")
    assert "Anh ấy đang đập cửa" in await page.inner_text("main")
    await page.click("button:has-text('Nhận ca')")
    await page.wait_for_selector('[data-status="claimed"]')
    assert "Bạn đã nhận ca" in await page.inner_text(".flash")
    assert CaseStore(desk.engine).get(case_id).status == CLAIMED

    # Reply to the resident.
    await page.fill("form.reply textarea", "Chị là Lan, tư vấn viên. Em đang ở đâu?")
    await page.click("form.reply button")
    await page.wait_for_selector(".flash:has-text('Tin nhắn đã vào hàng gửi tới người dân')")  # queued; state in history
    await eventually(lambda: ("zalo:321", "Chị là Lan, tư vấn viên. Em đang ở đâu?", True) in desk.outbound.sent)
    assert "Chị là Lan, tư vấn viên. Em đang ở đâu?" in await page.inner_text(".history")

    # Resolve; the case page shows it and so does the list, live.
    await page.click("a:has-text('Đã xử lý')")  # resolving asks for the outcome (D3)
    await page.select_option("form.resolve-reason select[name=outcome]", "advised")
    await page.click("form.resolve-reason button")
    await page.wait_for_selector('[data-status="resolved"]')
    assert CaseStore(desk.engine).get(case_id).status == RESOLVED
    await eventually(lambda: "resume" in desk.rasa.kinds("zalo:321"))
    await page.goto(f"{desk.url}/cases")  # the queue holds open cases only; «Đã xong» the resolved ones
    assert await page.locator(f'tr[data-case-id="{case_id}"]').count() == 0
    await page.click("a[data-view=done]")
    assert "Đã xử lý" in await page.locator(f'tr[data-case-id="{case_id}"] .status').inner_text()


@pytest.mark.parametrize("next_path", ["/%09/evil.example", "//evil.example", "/%0a/evil.example"])
async def test_login_never_leaves_the_desk_whatever_next_says(desk: Desk, counselor: str, page, next_path) -> None:
    origin = urlsplit(desk.url)
    await page.goto(f"{desk.url}/login?next={next_path}")
    await page.fill("input[name=username]", counselor)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{desk.url}/cases")
    landed = urlsplit(page.url)
    assert (landed.scheme, landed.netloc) == (origin.scheme, origin.netloc)


def _seed_shift(desk: Desk) -> dict[str, int]:
    """An evening's queue: one fresh danger-now case, one overdue, one claimed, one resolved; a review item."""
    create_account(desk.engine, "minh", PASSWORD, "supervisor", "Anh Minh", telegram_user_id=13)
    create_account(desk.engine, "thu", PASSWORD, "staff", "Chị Thu")
    fresh = open_case(desk.engine, "zalo:301", "danger_now", "Anh ấy đang đập cửa, tôi sợ lắm, gọi 0912 345 678")
    late = open_case(desk.engine, "messenger:302", "needs_support", "Tôi bị chồng chửi mắng suốt, không biết làm sao")
    claimed = open_case(desk.engine, "telegram:303", "danger_now", "Bố dượng đánh em, em đang trốn ở nhà bạn")
    done = open_case(desk.engine, "zalo:304", "needs_support", "Em muốn hỏi về nhà tạm lánh")
    now = desk.clock.now()
    with session_factory(desk.engine).begin() as s:
        for case_id, waited in ((fresh, timedelta(minutes=2)), (late, timedelta(minutes=42)),
                                (claimed, timedelta(minutes=15)), (done, timedelta(hours=3))):
            s.execute(update(Case).where(Case.id == case_id).values(created_at=now - waited))
    assert desk.commands.claim(claimed, Actor("tg:13", "Anh Minh"), "Telegram").ok
    with session_factory(desk.engine).begin() as s:
        s.execute(update(Case).where(Case.id == done).values(status=RESOLVED, resolved_at=now - timedelta(hours=2)))
    record_unanswered(CaseStore(desk.engine), "zalo:777", "Cho hỏi lớp học kỹ năng sống cho con ở phường mình?")
    return {"fresh": fresh, "late": late, "claimed": claimed, "done": done}


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_every_console_page_fits_the_screen_and_the_queue_counts_down(desk: Desk, browser, viewport) -> None:
    cases = _seed_shift(desk)
    pages: dict[str, Any] = {}
    for role, username in (("supervisor", "minh"), ("staff", "thu")):
        pages[role] = await open_page(browser, viewport)
        await sign_in(pages[role], desk, username)
    checked = []
    for console_page in CONSOLE_PAGES:
        tab = pages[console_page.role]
        resp = await tab.goto(desk.url + console_page.path.format(case_id=cases["claimed"]))
        assert resp.status == 200, console_page
        await tab.wait_for_load_state("networkidle")
        await assert_fits(tab, f"{console_page.name} at {viewport}")
        await shoot(tab, f"{console_page.name}-{viewport}")
        checked.append(console_page.name)
    assert {"queue", "case", "review"} <= set(checked)

    # The queue: waiting time and deadline on each unclaimed case, counting down live; overdue in red.
    tab = pages["supervisor"]
    await tab.goto(f"{desk.url}/cases")
    assert await tab.title() == "(2) Hàng đợi – Bàn tư vấn"
    fresh = tab.locator(f'tr[data-case-id="{cases["fresh"]}"]')
    assert "2 phút" in await fresh.locator(".waited").inner_text()
    before = await fresh.locator(".deadline").inner_text()
    assert before.startswith("Nhắc lại sau 2:") or before.startswith("Nhắc lại sau 3:"), before
    await asyncio.sleep(1.2)
    assert await fresh.locator(".deadline").inner_text() != before  # desk.js counts every second
    late = tab.locator(f'tr[data-case-id="{cases["late"]}"]')
    assert "Quá hạn 12 phút" in await late.locator(".deadline").inner_text()
    assert await late.locator(".countdown").evaluate("e => getComputedStyle(e).color") == RED
    # The title follows the queue without a reload.
    await tab.evaluate("window.__stillHere = true")
    assert desk.commands.claim(cases["fresh"], Actor("tg:13", "Anh Minh"), "Telegram").ok
    async def title_follows() -> bool:
        return await tab.title() == "(1) Hàng đợi – Bàn tư vấn"
    await eventually(title_follows, timeout=8)
    assert await tab.evaluate("window.__stillHere === true")
    # The views filter in place; the search finds a case by its number.
    await tab.click("a[data-view=overdue]")
    await tab.wait_for_url("**/cases?view=overdue")
    assert await tab.locator("tr[data-case-id]").count() == 1
    await tab.goto(f"{desk.url}/cases?view=done")
    await tab.fill("input[name=q]", f"#{cases['done']}")
    await tab.wait_for_url(f"**q=%23{cases['done']}**")
    await tab.locator(f'tr[data-case-id="{cases["done"]}"]').wait_for(state="visible")
    await tab.goto(f"{desk.url}/cases")

    if viewport == "phone":
        # Cards, not a table; every control a thumb can hit; the reply box stays at the bottom of the case page.
        assert await tab.locator("table.cases thead").evaluate("e => getComputedStyle(e).display") == "none"
        assert await tab.locator("tr[data-case-id]").first.evaluate("e => getComputedStyle(e).display") == "block"
        small = await tab.evaluate("""() => Array.from(document.querySelectorAll(
            'button, select, input:not([type=hidden]), .views a, td.id a, .pager a, .topbar a'))
            .filter(e => e.offsetParent !== null).map(e => [e.textContent.trim() || e.name, e.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)""")
        assert small == [], small
        await tab.goto(f"{desk.url}/cases/{cases['claimed']}")
        dock = tab.locator("form.reply").locator("xpath=..")
        assert await dock.evaluate("e => getComputedStyle(e).position") == "sticky"
        box = await tab.locator("form.reply textarea").bounding_box()
        assert box is not None and box["y"] + box["height"] <= VIEWPORTS["phone"]["height"]  # in view on arrival
    assert CaseStore(desk.engine).get(cases["claimed"]).status == CLAIMED
