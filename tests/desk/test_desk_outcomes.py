"""Outcomes: resolving asks what became of the case (console and Telegram), the history shows it, the report
counts it with small counts hidden."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from sqlalchemy import text

from bot.cases.models import CLAIMED, OPEN, RESOLVED
from bot.cases.outcomes import OUTCOMES, count_outcomes, outcome_label, shown
from bot.cases.store import CaseStore
from bot.desk.accounts import create_account
from bot.desk.commands import Actor
from tests.desk.helpers import COUNSELORS, PASSWORD, Desk, eventually, login, open_case
from tests.desk.test_desk_telegram import card_of, press
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio
LAN = Actor("desk:lan", "Chị Lan")


def _resolved_at(engine, case_id: int, when: datetime) -> None:
    with engine.begin() as c:
        c.execute(text("UPDATE cases SET resolved_at = :w WHERE id = :i"), {"w": when, "i": case_id})


async def _post(desk: Desk, csrf: str, case_id: int, action: str, data: dict[str, str],
                http: aiohttp.ClientSession | None = None) -> str:
    async with (http or desk.http).post(f"{desk.url}/cases/{case_id}/{action}",
                                        data={"csrf_token": csrf, **data}) as resp:
        assert resp.status == 200
        return await resp.text()


def test_the_list_has_the_outcomes_the_issue_names() -> None:
    labels = list(OUTCOMES.values())
    for wanted in ("công an xã / UBND xã", "trạm y tế", "nhà tạm lánh / địa chỉ tin cậy", "trợ giúp pháp lý",
                   "nhà trường", "Đã tư vấn", "Không liên lạc được", "Báo động nhầm"):
        assert any(wanted in label for label in labels), wanted
    assert len(labels) == 8 and outcome_label(None) == outcome_label("nope") == "Chưa ghi kết quả"
    assert [shown(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]


def test_count_outcomes_counts_a_period_and_a_province_and_hides_small_counts(engine) -> None:
    store = CaseStore(engine)
    start = datetime(2026, 11, 15, tzinfo=timezone.utc)
    ids = [open_case(engine, sender=f"zalo:{100 + i}", urgency="needs_support") for i in range(7)]
    with engine.begin() as c:
        c.execute(text("UPDATE cases SET status = 'resolved', outcome = 'advised'"))
        c.execute(text("UPDATE cases SET outcome = 'shelter', province = 'Cần Thơ' WHERE id = :i"),
                  {"i": ids[0]})
        c.execute(text("UPDATE cases SET outcome = NULL WHERE id = :i"), {"i": ids[1]})
    for case_id in ids:
        _resolved_at(engine, case_id, start + timedelta(days=1))
    _resolved_at(engine, ids[2], start - timedelta(days=3))  # before the period
    counts = {c.code: c.count for c in count_outcomes(engine, start, start + timedelta(days=30))}
    assert counts["advised"] == "<5" and counts["shelter"] == "<5" and counts[None] == "<5"
    assert counts["school"] == "0" and len(counts) == 9
    more = [open_case(engine, sender=f"zalo:{200 + i}", urgency="needs_support") for i in range(3)]
    with engine.begin() as c:  # three more advised in the period: seven, shown as is
        for case_id in more:
            c.execute(text("UPDATE cases SET status = 'resolved', outcome = 'advised', resolved_at = :w "
                           "WHERE id = :i"), {"w": start + timedelta(days=2), "i": case_id})
    counts = {c.code: c.count for c in count_outcomes(engine, start, start + timedelta(days=30))}
    assert counts["advised"] == "7"
    only = {c.code: c.count for c in count_outcomes(engine, start, start + timedelta(days=30), "Cần Thơ")}
    assert only["shelter"] == "<5" and only["advised"] == "0"
    assert store.get(ids[0]).to_dict()["outcome"] == "shelter"


async def test_the_console_asks_for_an_outcome_and_the_history_shows_it(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine, sender="zalo:301")
    csrf = await login(desk, counselor)
    await _post(desk, csrf, case_id, "claim", {})
    async with desk.http.get(f"{desk.url}/cases/{case_id}") as resp:
        page = await resp.text()
    assert 'name="outcome"' in page and all(label in page for label in OUTCOMES.values())
    refused = await _post(desk, csrf, case_id, "resolve", {})
    assert "Hãy chọn kết quả xử lý" in refused and CaseStore(desk.engine).get(case_id).status == CLAIMED
    refused = await _post(desk, csrf, case_id, "resolve", {"outcome": "made_up"})
    assert "Hãy chọn kết quả xử lý" in refused and CaseStore(desk.engine).get(case_id).status == CLAIMED
    page = await _post(desk, csrf, case_id, "resolve", {"outcome": "shelter", "note": "Đã liên hệ địa chỉ tin cậy"})
    case = CaseStore(desk.engine).get(case_id)
    assert case.status == RESOLVED and case.outcome == "shelter" and case.outcome_note == "Đã liên hệ địa chỉ tin cậy"
    resolved = [e for e in CaseStore(desk.engine).events(case_id) if e.kind == "resolved"][0]
    assert "Kết quả: Chuyển nhà tạm lánh / địa chỉ tin cậy" in resolved.detail
    assert "Đã liên hệ địa chỉ tin cậy" in resolved.detail
    assert "Kết quả: Chuyển nhà tạm lánh / địa chỉ tin cậy" in page  # in the history on the page
    async with desk.http.get(f"{desk.url}/api/cases/{case_id}",
                             headers={"Authorization": "Bearer test-api-token"}) as resp:
        assert (await resp.json())["outcome"] == "shelter"


async def test_an_unknown_outcome_or_a_long_note_is_refused_by_the_command(desk: Desk) -> None:
    case_id = open_case(desk.engine, sender="zalo:302", urgency="needs_support")
    assert not desk.commands.resolve(case_id, LAN, "x", outcome="invented").ok
    assert not desk.commands.resolve(case_id, LAN, "x", outcome="advised", note="y" * 600).ok
    assert CaseStore(desk.engine).get(case_id).status == OPEN
    assert desk.commands.resolve(case_id, LAN, "x", outcome="false_alarm").ok
    assert CaseStore(desk.engine).get(case_id).outcome == "false_alarm"


async def test_supervisors_and_staff_see_the_counts_and_counselors_do_not(desk: Desk, counselor: str) -> None:
    create_account(desk.engine, "hoa", PASSWORD, "supervisor", "Chị Hoa")
    case_id = open_case(desk.engine, sender="zalo:303", urgency="needs_support")
    assert desk.commands.resolve(case_id, LAN, "x", outcome="legal_aid").ok
    await login(desk, counselor)
    async with desk.http.get(f"{desk.url}/outcomes") as resp:
        assert resp.status == 403
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as supervisor:
        await login(desk, "hoa", http=supervisor)
        async with supervisor.get(f"{desk.url}/outcomes") as resp:
            page = await resp.text()
    assert resp.status == 200 and 'data-outcome="legal_aid"><td>Chuyển trợ giúp pháp lý</td><td class="count">&lt;5' \
        in page
    assert "zalo:303" not in page


async def test_the_telegram_resolve_button_asks_for_the_outcome_and_one_press_closes(desk: Desk,
                                                                                    tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine, sender="zalo:304")
    card = await card_of(tg, case_id, desk.engine)
    await press(tg, 11, card, f"claim:{case_id}")
    answer = await press(tg, 11, card, f"resolve:{case_id}")
    assert "Chọn kết quả" in answer and CaseStore(desk.engine).get(case_id).status == CLAIMED
    question = await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "chọn kết quả xử lý" in m.text])
    buttons = [b["callback_data"] for row in question[0].reply_markup["inline_keyboard"] for b in row]
    assert buttons == [f"outcome:{case_id}:{code}" for code in OUTCOMES]
    answer = await press(tg, 11, question[0], f"outcome:{case_id}:police_commune")
    assert "đã xử lý" in answer
    case = CaseStore(desk.engine).get(case_id)
    assert case.status == RESOLVED and case.outcome == "police_commune"
    await eventually(lambda: "Kết quả: Chuyển công an xã" in tg.message(COUNSELORS, question[0].message_id).text)
    again = await press(tg, 12, question[0], f"outcome:{case_id}:advised")
    assert "đã được xử lý xong" in again and CaseStore(desk.engine).get(case_id).outcome == "police_commune"


async def test_the_outcome_buttons_keep_the_resolve_rights(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine, sender="zalo:305")
    card = await card_of(tg, case_id, desk.engine)
    await press(tg, 11, card, f"claim:{case_id}")
    answer = await press(tg, 12, card, f"resolve:{case_id}")  # not hers: no outcome question
    assert "chỉ người nhận ca hoặc giám sát" in answer
    await asyncio.sleep(0.2)
    assert not [m for m in tg.sent(COUNSELORS) if "chọn kết quả xử lý" in m.text]
    answer = await press(tg, 12, card, f"outcome:{case_id}:advised")  # a forged press
    assert "chỉ người nhận ca hoặc giám sát" in answer and CaseStore(desk.engine).get(case_id).status == CLAIMED
