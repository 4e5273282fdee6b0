"""The case page's tools: the resident's earlier cases, saved replies filled for the case, the first assessment,
the outcome list, and the outcome counts for supervisors and staff (`/outcomes`).

Everything here reads or writes in a worker thread. The earlier cases are those of the same sender id,
newest first, with their outcome and date; the assessment is the counselor's, saved with her name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cases import assessment
from bot.cases.models import Case
from bot.cases.outcomes import OUTCOMES, count_outcomes, outcome_label
from bot.db.engine import session_factory
from bot.desk import keys
from bot.desk.auth import current_user, require_role
from bot.desk.console.pages import add_nav_link, redirect, render
from bot.desk.inputs import path_id, read_form
from bot.desk.saved_replies import filled_for_case
from bot.timeutil import VN_TZ

EARLIER_LIMIT = 20


@dataclass(frozen=True)
class EarlierCase:
    """One of the resident's other cases, as the case page lists it."""

    id: int
    created_at: datetime
    status: str
    outcome: str
    resolved_at: datetime | None


def earlier_cases(engine: Engine, case: Case, limit: int = EARLIER_LIMIT) -> list[EarlierCase]:
    """The same sender's other cases, newest first."""
    with session_factory(engine)() as s:
        rows = s.execute(select(Case.id, Case.created_at, Case.status, Case.outcome, Case.resolved_at)
                         .where(Case.sender_id == case.sender_id, Case.id != case.id)
                         .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)).all()
    return [EarlierCase(r.id, r.created_at, r.status, outcome_label(r.outcome), r.resolved_at) for r in rows]


def tools_context(request: web.Request, case: Case) -> dict[str, Any]:
    """What the case page's tools need (runs in a worker thread)."""
    engine = request.app[keys.STORE].engine
    now = request.app[keys.CLOCK].now()
    last = assessment.latest(engine, case.id)
    return {"earlier": earlier_cases(engine, case),
            "saved_replies": filled_for_case(engine, request.app[keys.RUNTIME].library, case.province, now),
            "outcomes": OUTCOMES, "outcome_label": outcome_label,
            "assessment_items": assessment.ITEMS, "assessment_ticked": assessment.ticked_items(last),
            "assessment_last": last, "priority_label": assessment.PRIORITY_LABELS.get(int(case.priority or 0), ""),
            "assessment_source": assessment.SOURCE}


@require_role("counselor")
async def assess(request: web.Request) -> web.StreamResponse:
    """POST /cases/{id}/assess: save the first assessment; its result sets the case's priority."""
    case_id = path_id(request, "case_id", "Không tìm thấy ca này.")
    user = current_user(request)
    assert user is not None
    form = await read_form(request)
    items = [str(v) for v in form.getall("item", [])]
    label = f"{user.display_name} <{user.actor_key}>"
    priority = await asyncio.to_thread(assessment.save_assessment, request.app[keys.STORE].engine, case_id, label,
                                       items, request.app[keys.CLOCK].now())
    if priority is None:
        raise web.HTTPNotFound(text="Không tìm thấy ca này.")
    raise redirect(f"/cases/{case_id}", f"Đã lưu đánh giá ban đầu. Mức ưu tiên: {assessment.PRIORITY_LABELS[priority]}.")


def _day(text: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(text) if text else fallback
    except ValueError:
        return fallback


@require_role("supervisor", "staff")
async def outcomes_page(request: web.Request) -> web.Response:
    """GET /outcomes: resolved cases by outcome for a period (Vietnam dates), counts under 5 shown as "<5"."""
    today = request.app[keys.CLOCK].now().astimezone(VN_TZ).date()
    start = _day(request.query.get("from"), today.replace(day=1))
    end = _day(request.query.get("to"), today)
    province = (request.query.get("province") or "").strip()[:100] or None

    def run() -> web.Response:
        lo = datetime(start.year, start.month, start.day, tzinfo=VN_TZ)
        hi = datetime(end.year, end.month, end.day, tzinfo=VN_TZ) + timedelta(days=1)
        counts = count_outcomes(request.app[keys.STORE].engine, lo, hi, province)
        return render(request, "outcomes.html", counts=counts, start=start, end=end, province=province or "")
    return await asyncio.to_thread(run)


def setup_case_tools(app: web.Application) -> None:
    """Mount the assessment action and the outcome counts page (with its navigation link)."""
    app.router.add_post("/cases/{case_id:\\d+}/assess", assess)
    app.router.add_get("/outcomes", outcomes_page)
    add_nav_link(app, "Kết quả xử lý", "/outcomes", ("supervisor", "staff"))

