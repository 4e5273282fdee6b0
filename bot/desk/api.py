"""The desk's HTTP API: cases and counselor messages (bearer token), /health, and the Telegram webhook.

Every /api/ route needs `Authorization: Bearer <DESK_API_TOKEN>` (compared in constant time); /health
answers `{"status": "ok"|"degraded"}` (200/503) to anyone, its details only with that bearer (a wrong
one is a 401); the webhook needs Telegram's secret-token header and answers 200 even when an update
fails, so Telegram does not redeliver it forever.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cases.handoff import human_owner
from bot.cases.models import STATUSES, URGENCIES, Case, CaseEvent
from bot.cases.spool import spool_state
from bot.db.engine import session_factory
from bot.desk import keys
from bot.desk.health import delivery_health, public_view, summarize
from bot.desk.inputs import parse_id, read_json
from bot.tokens import same_secret

log = logging.getLogger(__name__)


def bearer_ok(request: web.Request, token: str) -> bool:
    """Constant-time check of `Authorization: Bearer <token>`."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and same_secret(given.strip(), token)


@web.middleware
async def api_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    """Require the desk API token on every /api/ route."""
    if request.path.startswith("/api/") and not bearer_ok(request, request.app[keys.API_TOKEN]):
        return _unauthorized()
    return await handler(request)


async def list_cases(request: web.Request) -> web.Response:
    """GET /api/cases: newest first; filters sender_id, status, urgency, channel."""
    q = request.query
    status, urgency = q.get("status"), q.get("urgency")
    if status and status not in STATUSES:
        return web.json_response({"error": f"status must be one of {', '.join(STATUSES)}"}, status=400)
    if urgency and urgency not in URGENCIES:
        return web.json_response({"error": f"urgency must be one of {', '.join(URGENCIES)}"}, status=400)
    try:
        limit = min(max(int(q.get("limit", "200")), 1), 1000)
    except ValueError:
        return web.json_response({"error": "limit must be a number"}, status=400)
    store = request.app[keys.STORE]
    cases = await asyncio.to_thread(store.list_cases, q.get("sender_id"), status, urgency,
                                    q.get("channel"), limit)
    return web.json_response([c.to_dict() for c in cases])


async def get_case(request: web.Request) -> web.Response:
    """GET /api/cases/{id}: one case with its history."""
    case_id = parse_id(request.match_info["case_id"])
    if case_id is None:
        return web.json_response({"error": "not found"}, status=404)
    store = request.app[keys.STORE]
    case = await asyncio.to_thread(store.get, case_id)
    if case is None:
        return web.json_response({"error": "not found"}, status=404)
    events = await asyncio.to_thread(store.events, case_id)
    return web.json_response({**case.to_dict(), "events": [e.to_dict() for e in events]})


def counselor_messages(engine: Engine, sender_id: str, after: int) -> list[dict[str, Any]]:
    """Counselor replies to a sender's cases after an event id, oldest first."""
    with session_factory(engine)() as s:
        rows = s.execute(select(CaseEvent).join(Case, Case.id == CaseEvent.case_id).where(
            Case.sender_id == sender_id, CaseEvent.id > after, CaseEvent.kind == "counselor_reply")
            .order_by(CaseEvent.id).limit(200)).scalars()
        return [{"id": e.id, "case_id": e.case_id, "at": e.to_dict()["at"], "text": e.detail} for e in rows]


async def conversation_messages(request: web.Request) -> web.Response:
    """GET /api/conversations/{sender_id}/messages?after=<id>: counselor replies, for REST clients to fetch."""
    after = parse_id(request.query.get("after", "0"), minimum=0)
    if after is None:
        return web.json_response({"error": "after must be a whole number from 0 to 2**63-1"}, status=400)
    engine = request.app[keys.STORE].engine
    sender_id = request.match_info["sender_id"]
    messages = await asyncio.to_thread(counselor_messages, engine, sender_id, after)
    owner = await asyncio.to_thread(human_owner, engine, sender_id)
    return web.json_response({"sender_id": sender_id, "human_owner_case": owner, "messages": messages})


def _unauthorized() -> web.Response:
    return web.json_response({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})


async def health(request: web.Request) -> web.Response:
    """GET /health: ok/degraded for anyone; with the bearer also the database, deliveries, spool and jobs."""
    app = request.app
    detailed = "Authorization" in request.headers
    if detailed and not bearer_ok(request, app[keys.API_TOKEN]):
        return _unauthorized()
    updates = app.get(keys.TELEGRAM)
    try:
        deliveries = await asyncio.to_thread(
            delivery_health, app[keys.STORE].engine, telegram_enabled=app[keys.SETTINGS].telegram_enabled,
            updates_state=updates.updates_state if updates is not None else None, now=app[keys.CLOCK].now())
        database_ok = True
    except Exception:  # any failure here means the database cannot be used
        log.warning("health check: the database did not answer")
        deliveries, database_ok = {}, False
    try:
        spool = await asyncio.to_thread(spool_state)
    except OSError:
        log.warning("health check: the spool directory cannot be read")
        spool = "failing"
    body, ok = summarize(database_ok, deliveries, app[keys.HEALTH], spool)
    return web.json_response(body if detailed else public_view(body), status=200 if ok else 503)


async def telegram_webhook(request: web.Request) -> web.Response:
    """POST /telegram/webhook: updates from Telegram, with the secret-token header checked."""
    updates = request.app.get(keys.TELEGRAM)
    if updates is None:
        raise web.HTTPNotFound()
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    expected = request.app[keys.SETTINGS].effective_webhook_secret
    if not same_secret(given, expected):
        log.warning("rejected a Telegram webhook call with a wrong secret token")
        return web.json_response({"error": "forbidden"}, status=403)
    try:
        data = await read_json(request)
    except ValueError:  # not UTF-8, not JSON, or nested too deep to parse
        return web.json_response({"error": "bad json"}, status=400)
    try:
        await updates.process_update(data)
    except SQLAlchemyError as exc:
        # The database is down or busy: Telegram redelivers on a 5xx, and a handled update is marked seen in
        # the same transaction as its effect, so the redelivery acts exactly once.
        log.error("could not handle a Telegram update (%s); asking Telegram to redeliver", type(exc).__name__)
        return web.json_response({"error": "retry later"}, status=503)
    except Exception as exc:  # a malformed update would fail every time: answer 200 so it cannot block the queue
        log.error("could not handle a Telegram update (%s)", type(exc).__name__)
    return web.json_response({"ok": True})


def setup_api(app: web.Application) -> None:
    """Mount the API, health and webhook routes."""
    app.router.add_get("/api/cases", list_cases)
    app.router.add_get("/api/cases/{case_id}", get_case)
    app.router.add_get("/api/conversations/{sender_id}/messages", conversation_messages)
    app.router.add_get("/health", health)
    app.router.add_post("/telegram/webhook", telegram_webhook)
