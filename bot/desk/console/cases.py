"""The counselors' pages: the case list (live), the case page (transcript, history, notes), its actions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cases.models import CLAIMED, OPEN, RESOLVED, STATUSES, URGENCIES, Case, CaseEvent
from bot.db.engine import session_factory
from bot.desk import keys
from bot.desk.accounts import CurrentUser
from bot.desk.auth import current_user, require_role
from bot.desk.commands import CONSOLE, Actor
from bot.desk.console.pages import redirect, render
from bot.senders import CHANNELS


def actor_for(user: CurrentUser) -> Actor:
    """The case-history identity of a console user (linked to their Telegram id, if any)."""
    aliases = frozenset({f"tg:{user.telegram_user_id}"}) if user.telegram_user_id else frozenset()
    return Actor(user.actor_key, user.display_name, aliases)


def _filters(request: web.Request) -> dict[str, str]:
    q = request.query
    return {"status": q.get("status", "") if q.get("status", "") in STATUSES else "",
            "urgency": q.get("urgency", "") if q.get("urgency", "") in URGENCIES else "",
            "channel": q.get("channel", "") if q.get("channel", "") in CHANNELS else ""}


async def _rows(request: web.Request) -> list[Case]:
    f = _filters(request)
    return await asyncio.to_thread(request.app[keys.STORE].list_cases, None, f["status"] or None,
                                   f["urgency"] or None, f["channel"] or None, 300)


@require_role("counselor")
async def cases_page(request: web.Request) -> web.Response:
    """GET /cases: the list with filters; it refreshes itself every few seconds."""
    return render(request, "cases.html", cases=await _rows(request), filters=_filters(request),
                  statuses=STATUSES, urgencies=URGENCIES, channels=CHANNELS)


@require_role("counselor")
async def cases_rows(request: web.Request) -> web.Response:
    """GET /cases/rows: the table body only (fetched by the page)."""
    return render(request, "_case_rows.html", cases=await _rows(request))


def _case_id(request: web.Request) -> int:
    try:
        return int(request.match_info["case_id"])
    except ValueError:
        raise web.HTTPNotFound() from None


def _load_case(engine: Engine, case_id: int) -> tuple[Case | None, list[CaseEvent]]:
    with session_factory(engine)() as s:
        case = s.get(Case, case_id)
        events = list(s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.at, CaseEvent.id)).scalars()) if case else []
    return case, events


async def _case_context(request: web.Request) -> dict[str, Any]:
    case, events = await asyncio.to_thread(_load_case, request.app[keys.STORE].engine, _case_id(request))
    if case is None:
        raise web.HTTPNotFound(text="Không tìm thấy ca này.")
    transcript = await asyncio.to_thread(request.app[keys.TRANSCRIPTS].read, case.sender_id)
    user = current_user(request)
    assert user is not None
    return {"case": case, "events": events, "transcript": transcript, "mine": actor_for(user).owns(case.claimed_by),
            "OPEN": OPEN, "CLAIMED": CLAIMED, "RESOLVED": RESOLVED,
            "stale": any(e.kind == "flagged_stale" for e in events),
            "reescalations": sum(1 for e in events if e.kind == "reescalated")}


@require_role("counselor")
async def case_page(request: web.Request) -> web.Response:
    """GET /cases/{id}."""
    return render(request, "case.html", **await _case_context(request))


@require_role("counselor")
async def case_live(request: web.Request) -> web.Response:
    """GET /cases/{id}/live: status, actions, transcript and history (fetched by the page)."""
    return render(request, "_case_live.html", **await _case_context(request))


def _action(name: str) -> Callable[[web.Request], Any]:
    @require_role("counselor")
    async def handler(request: web.Request) -> web.StreamResponse:
        case_id = _case_id(request)
        user = current_user(request)
        assert user is not None
        commands = request.app[keys.COMMANDS]
        actor = actor_for(user)
        text = str((await request.post()).get("text") or "")
        if name == "claim":
            outcome = await asyncio.to_thread(commands.claim, case_id, actor, CONSOLE)
        elif name == "resolve":
            outcome = await asyncio.to_thread(commands.resolve, case_id, actor, CONSOLE)
        elif name == "reply":
            outcome = await asyncio.to_thread(commands.reply, case_id, actor, text, CONSOLE)
        else:
            outcome = await asyncio.to_thread(commands.add_note, case_id, actor, text)
        raise redirect(f"/cases/{case_id}", outcome.message)
    handler.__name__ = f"case_{name}"
    handler.__doc__ = f"POST /cases/{{id}}/{name}."
    return handler


def setup_cases(app: web.Application) -> None:
    """Mount the case pages and their actions."""
    app.router.add_get("/cases", cases_page)
    app.router.add_get("/cases/rows", cases_rows)
    app.router.add_get("/cases/{case_id:\\d+}", case_page)
    app.router.add_get("/cases/{case_id:\\d+}/live", case_live)
    for name in ("claim", "resolve", "reply", "note"):
        app.router.add_post(f"/cases/{{case_id:\\d+}}/{name}", _action(name))
