"""The resident's history: the case page lists the same sender's other cases with their outcome and date."""

from __future__ import annotations

import re

import pytest

from bot.cases.store import CaseStore
from bot.desk.commands import Actor
from bot.timeutil import vn_time
from tests.desk.helpers import Desk, login, open_case

pytestmark = pytest.mark.asyncio
LAN = Actor("desk:lan", "Chị Lan")


async def test_the_case_page_lists_the_residents_earlier_cases_with_outcome_and_date(desk: Desk,
                                                                                    counselor: str) -> None:
    first = open_case(desk.engine, sender="zalo:401", urgency="needs_support")
    assert desk.commands.resolve(first, LAN, "x", outcome="health_station").ok
    second = open_case(desk.engine, sender="zalo:401", urgency="needs_support")
    assert desk.commands.resolve(second, LAN, "x", outcome="unreachable").ok
    other = open_case(desk.engine, sender="zalo:999", urgency="needs_support")
    current = open_case(desk.engine, sender="zalo:401")
    await login(desk, counselor)
    async with desk.http.get(f"{desk.url}/cases/{current}") as resp:
        page = await resp.text()
    listed = re.findall(r'data-earlier-case="(\d+)"', page)
    assert listed == [str(second), str(first)]  # newest first, never the case itself, never another resident
    assert str(other) not in listed
    line = re.search(rf'data-earlier-case="{first}">(.*?)</li>', page, re.S).group(1)
    created = CaseStore(desk.engine).get(first).created_at
    assert "Chuyển trạm y tế" in line and vn_time(created) in line
    assert "Không liên lạc được" in re.search(rf'data-earlier-case="{second}">(.*?)</li>', page, re.S).group(1)


async def test_a_first_case_says_so(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine, sender="zalo:402")
    await login(desk, counselor)
    async with desk.http.get(f"{desk.url}/cases/{case_id}") as resp:
        page = await resp.text()
    assert "Đây là ca đầu tiên của người này" in page and "data-earlier-case" not in page
