"""The counselors' pages: the case list (live), the case page (transcript, history, notes), its actions.

Lists never hold the event loop: the database read and the rendering run in a worker thread, and a
resident's text is cut to the preview length (plus a margin, so that a phone number or an e-mail address
starting inside the preview is masked whole) before it is masked. The case page shows each message the
desk sent a resident with its real delivery state, read from its outbox rows: the push to the resident's
channel and the write to their Rasa conversation, each pending, retrying, sent or failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.cases.models import CLAIMED, OPEN, RESOLVED, STATUSES, URGENCIES, Case, CaseEvent
from bot.db.engine import session_factory
from bot.desk import cards, keys
from bot.desk.accounts import CurrentUser
from bot.desk.auth import current_user, require_role
from bot.desk.commands import CONSOLE, Actor
from bot.desk.console.pages import redirect, render
from bot.desk.inputs import path_id, read_form
from bot.outbox.models import DEAD, PENDING, SENT, SKIPPED, OutboxItem
from bot.senders import CHANNELS
from bot.timeutil import aware, vn_time

LIST_LIMIT = 300
PREVIEW = 120
PREVIEW_MARGIN = 80  # longer than any phone number the masking recognises
QUEUED = ("Tin nhắn đã vào hàng gửi tới người dân. Trạng thái gửi hiện ngay dưới tin nhắn trong «Lịch sử ca».")
# The history entries whose messages to the resident are followed, by the key prefix of their outbox rows.
SENT_BY = {"counselor_reply": "reply", "claimed": "claimed", "resolved": "resolved"}
PUSH_LABELS = {"waiting": "Đang chờ gửi", "retry": "Gửi lại sau…", SENT: "Đã gửi tới người dân",
               DEAD: "Không gửi được", SKIPPED: "Không gửi"}
TRANSCRIPT_LABELS = {"waiting": "Đang chờ ghi vào cuộc trò chuyện", "retry": "Ghi vào cuộc trò chuyện lại sau…",
                     SENT: "Đã ghi vào cuộc trò chuyện", DEAD: "Không ghi được vào cuộc trò chuyện",
                     SKIPPED: "Không ghi vào cuộc trò chuyện (chưa kết nối Rasa)"}


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list: the case's facts and a short, masked preview of its message."""

    id: int
    urgency: str
    status: str
    claimed_by: str | None
    channel: str
    created_at: datetime
    province: str | None
    preview: str


@dataclass(frozen=True)
class DeliveryState:
    """Where one outbox row of a message to a resident is: `state` is waiting, retry, sent, dead or skipped."""

    state: str
    label: str
    note: str = ""


def actor_for(user: CurrentUser) -> Actor:
    """The case-history identity of a console user (linked to their Telegram id, if any)."""
    aliases = frozenset({f"tg:{user.telegram_user_id}"}) if user.telegram_user_id else frozenset()
    return Actor(user.actor_key, user.display_name, aliases)


def _filters(request: web.Request) -> dict[str, str]:
    q = request.query
    return {"status": q.get("status", "") if q.get("status", "") in STATUSES else "",
            "urgency": q.get("urgency", "") if q.get("urgency", "") in URGENCIES else "",
            "channel": q.get("channel", "") if q.get("channel", "") in CHANNELS else ""}


def list_rows(engine: Engine, status: str | None, urgency: str | None, channel: str | None,
              limit: int = LIST_LIMIT) -> list[CaseRow]:
    """Cases newest first, each with a preview cut before masking (never the whole message)."""
    head = func.substr(Case.message, 1, PREVIEW + PREVIEW_MARGIN).label("head")
    q = select(Case.id, Case.urgency, Case.status, Case.claimed_by, Case.channel, Case.created_at, Case.province,
               head)
    for column, value in ((Case.status, status), (Case.urgency, urgency), (Case.channel, channel)):
        if value:
            q = q.where(column == value)
    with session_factory(engine)() as s:
        rows = s.execute(q.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)).all()
    return [CaseRow(r.id, r.urgency, r.status, r.claimed_by, r.channel, r.created_at, r.province,
                    cards.excerpt((r.head or "")[:PREVIEW + PREVIEW_MARGIN], PREVIEW)) for r in rows]


async def _render_list(request: web.Request, template: str, **context: Any) -> web.Response:
    f = _filters(request)
    engine = request.app[keys.STORE].engine

    def run() -> web.Response:
        rows = list_rows(engine, f["status"] or None, f["urgency"] or None, f["channel"] or None)
        return render(request, template, cases=rows, filters=f, **context)
    return await asyncio.to_thread(run)


@require_role("counselor")
async def cases_page(request: web.Request) -> web.Response:
    """GET /cases: the list with filters; it refreshes itself every few seconds."""
    return await _render_list(request, "cases.html", statuses=STATUSES, urgencies=URGENCIES, channels=CHANNELS)


@require_role("counselor")
async def cases_rows(request: web.Request) -> web.Response:
    """GET /cases/rows: the table body only (fetched by the page)."""
    return await _render_list(request, "_case_rows.html")


def _case_id(request: web.Request) -> int:
    return path_id(request, "case_id", "Không tìm thấy ca này.")


def delivery_state(row: Any, labels: dict[str, str]) -> DeliveryState:
    """The state of one outbox row, in the counselors' words."""
    if row.status == PENDING and row.attempts:
        at = aware(row.next_attempt_at)
        return DeliveryState("retry", f"{labels['retry']} (đã thử {row.attempts} lần, lần tới lúc "
                                      f"{vn_time(at, False)})", row.last_error or "")
    if row.status == PENDING:
        return DeliveryState("waiting", labels["waiting"])
    return DeliveryState(row.status, labels.get(row.status, row.status), row.last_error or "")


def delivery_states(s: Session, case_id: int, events: list[CaseEvent]) -> dict[int, list[DeliveryState]]:
    """For each history entry that sent the resident a message: its push, then its transcript write."""
    rows = {r.dedup_key: r for r in s.execute(
        select(OutboxItem.dedup_key, OutboxItem.status, OutboxItem.attempts, OutboxItem.next_attempt_at,
               OutboxItem.last_error)
        .where(OutboxItem.case_id == case_id, OutboxItem.kind.in_(("resident_push", "rasa_events"))))}
    states: dict[int, list[DeliveryState]] = {}
    for ev in events:
        prefix = SENT_BY.get(ev.kind)
        if prefix is None:
            continue
        found = [delivery_state(rows[key], labels) for key, labels in
                 ((f"{prefix}:{ev.id}:push", PUSH_LABELS), (f"{prefix}:{ev.id}:rasa", TRANSCRIPT_LABELS))
                 if key in rows]
        if found:
            states[ev.id] = found
    return states


def _load_case(engine: Engine, case_id: int) -> tuple[Case | None, list[CaseEvent], dict[int, list[DeliveryState]]]:
    with session_factory(engine)() as s:
        case = s.get(Case, case_id)
        if case is None:
            return None, [], {}
        events = list(s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.at, CaseEvent.id)).scalars())
        return case, events, delivery_states(s, case_id, events)


async def _case_context(request: web.Request) -> dict[str, Any]:
    case, events, deliveries = await asyncio.to_thread(_load_case, request.app[keys.STORE].engine,
                                                       _case_id(request))
    if case is None:
        raise web.HTTPNotFound(text="Không tìm thấy ca này.")
    transcript = await asyncio.to_thread(request.app[keys.TRANSCRIPTS].read, case.sender_id)
    user = current_user(request)
    assert user is not None
    return {"case": case, "events": events, "deliveries": deliveries, "transcript": transcript,
            "mine": actor_for(user).owns(case.claimed_by), "OPEN": OPEN, "CLAIMED": CLAIMED, "RESOLVED": RESOLVED,
            "stale": any(e.kind == "flagged_stale" for e in events),
            "reescalations": sum(1 for e in events if e.kind == "reescalated")}


@require_role("counselor")
async def case_page(request: web.Request) -> web.Response:
    """GET /cases/{id}."""
    context = await _case_context(request)
    return await asyncio.to_thread(render, request, "case.html", **context)


@require_role("counselor")
async def case_live(request: web.Request) -> web.Response:
    """GET /cases/{id}/live: status, actions, transcript and history (fetched by the page)."""
    context = await _case_context(request)
    return await asyncio.to_thread(render, request, "_case_live.html", **context)


def _action(name: str) -> Callable[[web.Request], Any]:
    @require_role("counselor")
    async def handler(request: web.Request) -> web.StreamResponse:
        case_id = _case_id(request)
        user = current_user(request)
        assert user is not None
        commands = request.app[keys.COMMANDS]
        actor = actor_for(user)
        text = str((await read_form(request)).get("text") or "")
        if name == "claim":
            outcome = await asyncio.to_thread(commands.claim, case_id, actor, CONSOLE)
        elif name == "resolve":
            outcome = await asyncio.to_thread(commands.resolve, case_id, actor, CONSOLE, text)
        elif name == "reply":
            outcome = await asyncio.to_thread(commands.reply, case_id, actor, text, CONSOLE)
        else:
            outcome = await asyncio.to_thread(commands.add_note, case_id, actor, text)
        # A reply is only queued here; the case page follows its delivery.
        raise redirect(f"/cases/{case_id}", QUEUED if name == "reply" and outcome.ok else outcome.message)
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
