"""The roster page: /roster. Everyone at the desk sees the hours, who is on duty and the week's roster, and hands
over their claimed cases at the end of a shift; only a supervisor edits the hours and the roster.

Form times are Vietnam time; a duty whose end is not after its start ends the next day (a night shift). Every
write is idempotent: the same hours saved twice, or the same duty added twice, is one state; removing a duty
that is gone says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.cases import shifts
from bot.db.engine import session_factory
from bot.desk import handover, keys
from bot.desk.auth import require_role, signed_in
from bot.desk.console.cases import actor_for
from bot.desk.console.pages import add_nav_link, redirect, render
from bot.desk.inputs import form_text, parse_id, path_id, read_form
from bot.desk.models import Account
from bot.timeutil import VN_TZ, vn_time

PATH = "/roster"
SHOWN_BEFORE, SHOWN_AFTER = timedelta(hours=12), timedelta(days=7)
DAY_LABELS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


@dataclass(frozen=True)
class DutyRow:
    """One duty as the page lists it."""

    id: int
    name: str
    on_call: bool
    when: str
    now: bool


def _when(duty: shifts.Duty) -> str:
    start, end = duty.starts_at.astimezone(VN_TZ), duty.ends_at.astimezone(VN_TZ)
    day = f"{DAY_LABELS[start.weekday()]} {start.day}/{start.month}"
    until = end.strftime("%H:%M") if end.date() == start.date() else f"{end.strftime('%H:%M')} {end.day}/{end.month}"
    return f"{day}, {start.strftime('%H:%M')}–{until}"


def _accounts(engine: Any) -> list[tuple[str, str, str]]:
    """Active accounts that can be on duty: (username, name, role)."""
    with session_factory(engine)() as s:
        return [tuple(r) for r in s.execute(select(Account.username, Account.display_name, Account.role).where(
            Account.active.is_(True), Account.role.in_(("counselor", "supervisor"))).order_by(Account.display_name))]


def _context(request: web.Request) -> dict[str, Any]:
    app = request.app
    engine, now, default = app[keys.STORE].engine, app[keys.CLOCK].now(), app[keys.RUNTIME].hours
    user = signed_in(request)
    actor = actor_for(user)
    avail = shifts.availability(engine, now, default)
    duties = [DutyRow(d.id, d.name, d.on_call, _when(d), d.covers(now))
              for d in shifts.duties_between(engine, now - SHOWN_BEFORE, now + SHOWN_AFTER)]
    commands = app[keys.COMMANDS]
    return {"avail": avail, "next_read": shifts.when_phrase(avail.next_read_at, now) if avail.next_read_at else None,
            "hours": list(zip(DAY_LABELS, avail.hours.days)), "duties": duties, "accounts": _accounts(engine),
            "held": handover.held_cases(commands, actor), "colleagues": handover.colleagues(commands, actor),
            "today": now.astimezone(VN_TZ).date().isoformat(), "supervisor": user.role == "supervisor"}


@require_role("counselor")
async def roster_page(request: web.Request) -> web.Response:
    """GET /roster: hours, who is on duty, the roster; the supervisor's forms; the hand-over form."""
    return await asyncio.to_thread(lambda: render(request, "roster.html", **_context(request)))


def _hours_from(form: Any) -> shifts.WeekHours:
    days: list[shifts.DayHours | None] = []
    for index, label in enumerate(DAY_LABELS):
        opens, closes = (form_text(form, f"{k}_{index}") for k in ("opens", "closes"))
        if not opens and not closes:
            days.append(None)
            continue
        try:
            days.append(shifts.parse_range(f"{opens}-{'24:00' if closes == '00:00' else closes}"))
        except ValueError:
            raise redirect(PATH, f"Chưa lưu: giờ của {label} không hợp lệ (giờ kết thúc phải sau giờ bắt đầu)."
                           ) from None
    return shifts.WeekHours(tuple(days))


@require_role("supervisor")
async def save_hours(request: web.Request) -> web.Response:
    """POST /roster/hours: the seven days' hours (both times empty: nobody works that day)."""
    week = _hours_from(await read_form(request))
    user = signed_in(request)
    await asyncio.to_thread(shifts.save_hours, request.app[keys.STORE].engine, week, user.actor_key,
                            request.app[keys.CLOCK].now())
    raise redirect(PATH, "Đã lưu giờ làm việc.")


def _moment(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), VN_TZ)


@require_role("supervisor")
async def add_duty(request: web.Request) -> web.Response:
    """POST /roster/duties: put an account on duty (or on call) from a time to a time of a day."""
    form = await read_form(request)
    engine = request.app[keys.STORE].engine
    username, kind = form_text(form, "username"), form_text(form, "kind", "counselor")
    account = next((a for a in await asyncio.to_thread(_accounts, engine) if a[0] == username), None)
    if account is None:
        raise redirect(PATH, "Chưa lưu: hãy chọn một tài khoản tư vấn viên hoặc giám sát đang hoạt động.")
    if kind == "on_call" and account[2] != "supervisor":
        raise redirect(PATH, "Chưa lưu: chỉ tài khoản giám sát mới trực giám sát được.")
    try:
        start = _moment(form_text(form, "day"), form_text(form, "starts"))
        end = _moment(form_text(form, "day"), form_text(form, "ends"))
    except ValueError:
        raise redirect(PATH, "Chưa lưu: hãy nhập ngày và giờ của ca trực.") from None
    if end <= start:
        end += timedelta(days=1)  # a night shift ends the next day
    user = signed_in(request)
    await asyncio.to_thread(shifts.add_duty, engine, account[0], account[1], kind == "on_call", start, end,
                            user.actor_key, request.app[keys.CLOCK].now())
    role = "trực giám sát" if kind == "on_call" else "trực"
    raise redirect(PATH, f"Đã xếp {account[1]} {role} {vn_time(start)} – {vn_time(end)}.")


@require_role("supervisor")
async def remove_duty(request: web.Request) -> web.Response:
    """POST /roster/duties/{id}/remove."""
    duty_id = path_id(request, "duty_id", "Không tìm thấy ca trực này.")
    removed = await asyncio.to_thread(shifts.remove_duty, request.app[keys.STORE].engine, duty_id)
    raise redirect(PATH, "Đã xóa ca trực." if removed else "Ca trực này đã được xóa trước đó.")


@require_role("counselor")
async def hand_over(request: web.Request) -> web.Response:
    """POST /roster/handover: the chosen claimed cases to a colleague on duty, or back to the queue."""
    form = await read_form(request)
    user = signed_in(request)
    ids = [i for i in (parse_id(str(v)) for v in form.getall("case_id", [])) if i is not None]
    if not ids:
        raise redirect(PATH, "Hãy chọn ít nhất một ca để bàn giao.")
    outcome = await asyncio.to_thread(handover.hand_over, request.app[keys.COMMANDS], actor_for(user),
                                      form_text(form, "to"), form_text(form, "note"), "bảng điều khiển", ids)
    raise redirect(PATH, outcome.message)


def setup_roster(app: web.Application) -> None:
    """Mount the roster page, its forms and its navigation link."""
    add_nav_link(app, "Lịch trực", PATH, roles=("counselor",))
    app.router.add_get(PATH, roster_page)
    app.router.add_post(PATH + "/hours", save_hours)
    app.router.add_post(PATH + "/duties", add_duty)
    app.router.add_post(PATH + "/duties/{duty_id}/remove", remove_duty)
    app.router.add_post(PATH + "/handover", hand_over)
