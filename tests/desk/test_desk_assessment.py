"""The counselor's first assessment: the checklist, the priority it sets (the queue orders by it), the history."""

from __future__ import annotations

import pytest

from bot.cases.assessment import ITEMS, SOURCE, priority_of, save_assessment
from bot.cases.store import CaseStore
from bot.timeutil import utcnow
from tests.desk.helpers import Desk, login, open_case

pytestmark = pytest.mark.asyncio


def test_the_checklist_has_the_signs_the_issue_names_and_names_its_source() -> None:
    assert set(ITEMS) == {"danger_now", "children", "weapon", "threats_to_kill", "escalation", "strangulation",
                          "shelter"}
    assert "Danger Assessment" in SOURCE and "Campbell" in SOURCE


@pytest.mark.parametrize(("items", "priority"), [
    ((), 0), (("shelter",), 1), (("children", "escalation"), 1), (("children", "escalation", "shelter"), 2),
    (("weapon",), 2), (("threats_to_kill",), 2), (("strangulation",), 2), (("danger_now",), 3),
    (("danger_now", "weapon"), 3), (("invented",), 0)])
def test_priority_follows_the_strongest_signs(items, priority) -> None:
    assert priority_of(items) == priority


def test_saving_sets_the_priority_once_and_records_it(engine) -> None:
    case_id = open_case(engine, sender="zalo:501", urgency="needs_support")
    assert save_assessment(engine, case_id, "Chị Lan <desk:lan>", ["weapon", "children"], utcnow()) == 2
    assert save_assessment(engine, case_id, "Chị Lan <desk:lan>", ["children", "weapon"], utcnow()) == 2  # again
    store = CaseStore(engine)
    assert store.get(case_id).priority == 2
    assessed = [e for e in store.events(case_id) if e.kind == "assessed"]
    assert len(assessed) == 1 and assessed[0].actor == "Chị Lan <desk:lan>"
    assert "Mức ưu tiên: Cao" in assessed[0].detail and ITEMS["weapon"] in assessed[0].detail
    assert save_assessment(engine, case_id, "Chị Lan <desk:lan>", [], utcnow()) == 0  # she unticks everything
    assert store.get(case_id).priority == 0 and [e.kind for e in store.events(case_id)].count("assessed") == 2
    assert save_assessment(engine, 10_000, "x", ["weapon"], utcnow()) is None


async def test_the_counselor_fills_it_on_the_case_page(desk: Desk, counselor: str) -> None:
    case_id = open_case(desk.engine, sender="zalo:502", urgency="needs_support")
    csrf = await login(desk, counselor)
    async with desk.http.get(f"{desk.url}/cases/{case_id}") as resp:
        page = await resp.text()
    assert f'action="/cases/{case_id}/assess"' in page and all(label in page for label in ITEMS.values())
    assert "Danger Assessment" in page  # the help text names the source
    async with desk.http.post(f"{desk.url}/cases/{case_id}/assess",
                              data=[("csrf_token", csrf), ("item", "danger_now"), ("item", "children")]) as resp:
        page = await resp.text()
    assert "Mức ưu tiên: Rất cao" in page
    assert 'value="danger_now" checked' in page and 'value="weapon">' in page
    assert CaseStore(desk.engine).get(case_id).priority == 3
    async with desk.http.post(f"{desk.url}/cases/{case_id}/assess", data={"item": "weapon"}) as resp:
        assert resp.status == 403  # no CSRF token
    assert CaseStore(desk.engine).get(case_id).priority == 3
