"""The case tools in a real browser: a saved reply inserted with one tap and sent only when the counselor
presses send; a case resolved with an outcome that appears in its history and in the resident's next case."""

from __future__ import annotations

import asyncio
import os

import pytest

from bot.cases.models import RESOLVED
from bot.cases.store import CaseStore
from bot.desk.accounts import create_account
from bot.desk.saved_replies import SEEDS
from tests.desk.helpers import PASSWORD, Desk, eventually, open_case
from tests.desk.test_desk_browser import CHROMIUM, assert_fits, browser, open_page, shoot, sign_in  # noqa: F401

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed (.ci/run installs it)")]
SENDER = "zalo:731"


def _counselor_replies(desk: Desk, case_id: int) -> list[str]:
    return [e.detail for e in CaseStore(desk.engine).events(case_id) if e.kind == "counselor_reply"]


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_a_saved_reply_is_inserted_then_sent_and_the_outcome_reaches_the_history(
        desk: Desk, counselor: str, browser, viewport) -> None:  # noqa: F811
    case_id = await asyncio.to_thread(open_case, desk.engine, SENDER, "danger_now", "Anh ta lại dọa đánh tôi")
    tab = await open_page(browser, viewport)
    await sign_in(tab, desk, counselor)
    await tab.goto(f"{desk.url}/cases/{case_id}")
    await tab.click("button:has-text('Nhận ca')")
    await tab.wait_for_selector('[data-status="claimed"]')

    # One tap puts the filled text in the reply box; nothing leaves before «Gửi tin nhắn».
    evidence = next(body for key, _, body in SEEDS if key == "evidence")
    await tab.click("[data-saved-replies] summary")
    await tab.click("button.saved-reply:has-text('Giữ bằng chứng')")
    assert await tab.input_value("form.reply textarea") == evidence
    await asyncio.sleep(0.5)
    assert _counselor_replies(desk, case_id) == [] and not [s for s in desk.outbound.sent if s[0] == SENDER
                                                          and s[1] == evidence]
    await tab.click("[data-saved-replies] button.saved-reply:has-text('Đang nguy hiểm')")  # appended after it
    text = await tab.input_value("form.reply textarea")
    assert text.startswith(evidence + "\n") and "113" in text and "{so_khan_cap}" not in text
    await assert_fits(tab, f"case page with saved replies at {viewport}")
    await shoot(tab, f"case-saved-replies-{viewport}")
    await tab.click("form.reply button")
    await tab.wait_for_selector(".flash:has-text('Tin nhắn đã vào hàng gửi tới người dân')")
    # (a browser sends a textarea's line breaks as CRLF)
    await eventually(lambda: [t for sid, t, _ in desk.outbound.sent if sid == SENDER and t.replace("\r\n", "\n") == text])
    assert [t.replace("\r\n", "\n") for t in _counselor_replies(desk, case_id)] == [text]

    # «Đã xử lý…» leads to the outcome; the case closes with it and the history says so.
    await tab.click("a:has-text('Đã xử lý')")
    await tab.select_option("form.resolve-reason select[name=outcome]", "health_station")
    await tab.fill("form.resolve-reason textarea[name=note]", "Đã hẹn trạm y tế xã khám vết thương")
    await assert_fits(tab, f"resolve form at {viewport}")
    await shoot(tab, f"case-outcome-{viewport}")
    await tab.click("form.resolve-reason button")
    await tab.wait_for_selector('[data-status="resolved"]')
    case = CaseStore(desk.engine).get(case_id)
    assert case.status == RESOLVED and case.outcome == "health_station"
    history = await tab.inner_text(".history")
    assert "Kết quả: Chuyển trạm y tế" in history and "Đã hẹn trạm y tế xã khám vết thương" in history
    assert "Chuyển trạm y tế" in await tab.inner_text(".facts .outcome")

    # She writes again: the new case lists the earlier one with its outcome.
    again = await asyncio.to_thread(open_case, desk.engine, SENDER, "needs_support", "Em lại cần giúp")
    await tab.goto(f"{desk.url}/cases/{again}")
    earlier = tab.locator(f'[data-earlier-case="{case_id}"]')
    assert "Chuyển trạm y tế" in await earlier.inner_text()
    await assert_fits(tab, f"case page with earlier cases at {viewport}")


async def test_a_supervisor_edits_a_saved_reply_at_phone_width(desk: Desk, browser) -> None:  # noqa: F811
    create_account(desk.engine, "hoa", PASSWORD, "supervisor", "Chị Hoa")
    tab = await open_page(browser, "phone")
    await sign_in(tab, desk, "hoa")
    await tab.goto(f"{desk.url}/saved-replies")
    await assert_fits(tab, "saved replies at phone width")
    first = tab.locator("section.saved-reply-edit").first
    await first.locator("input[name=title]").fill("Giữ bằng chứng (bản sửa)")
    await first.locator("button:has-text('Lưu')").click()
    await tab.wait_for_selector(".flash:has-text('Đã lưu câu trả lời mẫu')")
    assert await tab.locator("section.saved-reply-edit input[name=title]").first.input_value() == \
        "Giữ bằng chứng (bản sửa)"
