"""The campaign results report in the console: /staff/report (roles staff and supervisor).

The page shows the same tables as the workbook and the PDF (bot.reporting: anonymised, counts under 5 as "<5")
for a period in Vietnam dates and optionally one province, with links that download the .xlsx and the .pdf.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from urllib.parse import urlencode

from aiohttp import web

from bot.config import CONTENT_DIR
from bot.desk import keys
from bot.desk.auth import require_role
from bot.desk.console.pages import add_nav_link, render
from bot.reporting.build import make_report
from bot.reporting.figures import question_titles
from bot.reporting.files import base_name
from bot.reporting.pdf import pdf_bytes
from bot.reporting.tables import Period, Report
from bot.reporting.workbook import workbook_bytes
from bot.timeutil import VN_TZ

PATH = "/staff/report"
MAX_DAYS = 366  # one report covers at most a year
TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


class BadPeriod(ValueError):
    """A period the page cannot report on (the message is for staff)."""


def _day(text: str | None, fallback: date) -> date:
    if not text:
        return fallback
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadPeriod(f"Ngày không hợp lệ: «{text[:20]}» (dạng YYYY-MM-DD).") from None


def _period(request: web.Request) -> Period:
    """The period and province asked for (default: the last 30 days, every province)."""
    today = request.app[keys.CLOCK].now().astimezone(VN_TZ).date()
    start = _day(request.query.get("from"), today - timedelta(days=29))
    end = _day(request.query.get("to"), today)
    if end < start:
        raise BadPeriod("Ngày kết thúc phải sau hoặc bằng ngày bắt đầu.")
    if (end - start).days >= MAX_DAYS:
        raise BadPeriod(f"Mỗi báo cáo tối đa {MAX_DAYS} ngày.")
    asked = (request.query.get("province") or "").strip()[:100]
    province = None
    if asked:
        province = request.app[keys.RUNTIME].library.provinces.current_of(asked)
        if province is None:
            raise BadPeriod(f"Không biết tỉnh, thành phố «{asked}».")
    return Period(start, end, province)


def _report(request: web.Request, period: Period) -> Report:
    """Gather and assemble the report (blocking: run it in a thread)."""
    app = request.app
    runtime = app[keys.RUNTIME]
    folder = runtime.content.folder or CONTENT_DIR
    return make_report(app[keys.STORE].engine, app[keys.TRANSCRIPTS].engine, period, runtime.library.provinces,
                       question_titles(folder), app[keys.CLOCK].now())


def _query(period: Period) -> str:
    values = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    if period.province:
        values["province"] = period.province
    return urlencode(values)


@require_role("staff", "supervisor")
async def report_page(request: web.Request) -> web.Response:
    """GET /staff/report: the figures of a period, with the downloads."""
    try:
        period = _period(request)
    except BadPeriod as exc:
        return render(request, "report.html", status=400, error=str(exc), report=None,
                      start=request.query.get("from", ""), end=request.query.get("to", ""),
                      province=request.query.get("province", ""))
    report = await asyncio.to_thread(_report, request, period)
    return render(request, "report.html", report=report, error=None, start=period.start.isoformat(),
                  end=period.end.isoformat(), province=period.province or "", query=_query(period))


@require_role("staff", "supervisor")
async def report_file(request: web.Request) -> web.Response:
    """GET /staff/report/file.{xlsx,pdf}: the same report as a file to download."""
    kind = request.match_info["kind"]
    try:
        period = _period(request)
    except BadPeriod as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None

    def run() -> bytes:
        made = _report(request, period)
        return workbook_bytes(made) if kind == "xlsx" else pdf_bytes(made)
    body = await asyncio.to_thread(run)
    return web.Response(body=body, content_type=TYPES[kind], headers={
        "Content-Disposition": f'attachment; filename="{base_name(period)}.{kind}"', "Cache-Control": "no-store"})


def setup_report(app: web.Application) -> None:
    """Mount the report page, its downloads and its navigation link."""
    app.router.add_get(PATH, report_page)
    app.router.add_get(PATH + "/file.{kind:xlsx|pdf}", report_file)
    add_nav_link(app, "Báo cáo kết quả", PATH, ("staff", "supervisor"))
