"""The console in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from bot.cases.models import CLAIMED, RESOLVED
from bot.cases.store import CaseStore
from tests.desk.helpers import PASSWORD, Desk, eventually, open_case

CHROMIUM = os.environ.get("DESK_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed (.ci/run installs it)")]


@pytest_asyncio.fixture
async def page() -> AsyncIterator[object]:
    """A fresh browser page."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(locale="vi-VN")
        tab = await context.new_page()
        tab.set_default_timeout(10_000)
        yield tab
        await browser.close()


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
    await page.click("button:has-text('Đã xử lý')")
    await page.wait_for_selector('[data-status="resolved"]')
    assert CaseStore(desk.engine).get(case_id).status == RESOLVED
    await eventually(lambda: "resume" in desk.rasa.kinds("zalo:321"))
    await page.goto(f"{desk.url}/cases")
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
