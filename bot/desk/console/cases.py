"""The counselors' case page (transcript, history, notes) and its actions; the queue is `console.queue`.

The case page shows each message the desk sent a resident with its real delivery state, read from its
outbox rows: the push to the resident's channel and the write to their Rasa conversation, each pending,
retrying, sent or failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.cases.models import CLAIMED, OPEN, RESOLVED, Case, CaseEvent
from bot.cases.outcomes import OUTCOMES
from bot.db.engine import session_factory
from bot.desk import keys
from bot.desk.accounts import CurrentUser
from bot.desk.auth import current_user, require_role
from bot.desk.commands import CONSOLE, Actor
from bot.desk.console.case_tools import tools_context
from bot.desk.console.pages import redirect, render
from bot.desk.inputs import path_id, read_form
from bot.outbox.models import DEAD, PENDING, SENT, SKIPPED, OutboxItem
from bot.outreach.subscriptions import allow_despite_case, get_subscription
from bot.timeutil import aware, vn_time

CHOOSE_OUTCOME = "Hãy chọn kết quả xử lý (và ghi chú nếu cần) trước khi đóng ca."
ALLOWED = "Đã cho phép người này nhận tin Tháng hành động dù đang có ca."
QUEUED = ("Tin nhắn đã vào hàng gửi tới người dân. Trạng thái gửi hiện ngay dưới tin nhắn trong «Lịch sử ca».")
# The history entries whose messages to the resident are followed, by the key prefix of their outbox rows.
SENT_BY = {"counselor_reply": "reply", "claimed": "claimed", "resolved": "resolved"}
PUSH_LABELS = {"waiting": "Đang chờ gửi", "retry": "Gửi lại sau…", SENT: "Đã gửi tới người dân",
               DEAD: "Không gửi được", SKIPPED: "Không gửi"}
TRANSCRIPT_LABELS = {"waiting": "Đang chờ ghi vào cuộc trò chuyện", "retry": "Ghi vào cuộc trò chuyện lại sau…",
                     SENT: "Đã ghi vào cuộc trò chuyện", DEAD: "Không ghi được vào cuộc trò chuyện",
                     SKIPPED: "Không ghi vào cuộc trò chuyện (chưa kết nối Rasa)"}


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
    tools = await asyncio.to_thread(tools_context, request, case)
    return {"case": case, "events": events, "deliveries": deliveries, "transcript": transcript,
            "mine": actor_for(user).owns(case.claimed_by), "OPEN": OPEN, "CLAIMED": CLAIMED, "RESOLVED": RESOLVED,
            "stale": any(e.kind == "flagged_stale" for e in events),
            "reescalations": sum(1 for e in events if e.kind == "reescalated"), **tools}


@require_role("counselor")
async def case_page(request: web.Request) -> web.Response:
    """GET /cases/{id} (with the resident's broadcast subscription, for the counselor's override)."""
    context = await _case_context(request)
    found = await asyncio.to_thread(get_subscription, request.app[keys.STORE].engine, context["case"].sender_id)
    context["subscription"] = found if found and found.active else None
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
        form = await read_form(request)
        text = str(form.get("text") or "")
        if name == "claim":
            outcome = await asyncio.to_thread(commands.claim, case_id, actor, CONSOLE)
        elif name == "resolve":
            chosen = str(form.get("outcome") or "")
            if chosen not in OUTCOMES:
                # Who may not close the case learns that first; who may is asked for the outcome.
                refused = await asyncio.to_thread(commands.resolve_refusal, case_id, actor, text)
                raise redirect(f"/cases/{case_id}#ket-qua", refused or CHOOSE_OUTCOME)
            outcome = await asyncio.to_thread(commands.resolve, case_id, actor, CONSOLE, text, outcome=chosen,
                                              note=str(form.get("note") or ""))
        elif name == "reply":
            outcome = await asyncio.to_thread(commands.reply, case_id, actor, text, CONSOLE)
        else:
            outcome = await asyncio.to_thread(commands.add_note, case_id, actor, text)
        # A reply is only queued here; the case page follows its delivery.
        raise redirect(f"/cases/{case_id}", QUEUED if name == "reply" and outcome.ok else outcome.message)
    handler.__name__ = f"case_{name}"
    handler.__doc__ = f"POST /cases/{{id}}/{name}."
    return handler


@require_role("counselor")
async def allow_broadcasts(request: web.Request) -> web.StreamResponse:
    """POST /cases/{id}/allow-broadcasts: the subscribed resident receives campaign broadcasts despite the case."""
    case_id = _case_id(request)
    user = current_user(request)
    assert user is not None
    store = request.app[keys.STORE]
    case = await asyncio.to_thread(store.get, case_id)
    if case is None:
        raise web.HTTPNotFound(text="Không tìm thấy ca này.")
    found = await asyncio.to_thread(allow_despite_case, store.engine, case.sender_id, user.username)
    raise redirect(f"/cases/{case_id}#tin-chien-dich", ALLOWED if found else "Người này chưa đăng ký nhận tin.")


def setup_cases(app: web.Application) -> None:
    """Mount the case pages and their actions."""
    app.router.add_get("/cases/{case_id:\\d+}", case_page)
    app.router.add_get("/cases/{case_id:\\d+}/live", case_live)
    app.router.add_post("/cases/{case_id:\\d+}/allow-broadcasts", allow_broadcasts)
    for name in ("claim", "resolve", "reply", "note"):
        app.router.add_post(f"/cases/{{case_id:\\d+}}/{name}", _action(name))
