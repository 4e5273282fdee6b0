"""aiohttp application of the desk: the case API and health."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.cases import STATUSES, URGENCIES, CaseStore, drain_spool

log = logging.getLogger(__name__)

STORE = web.AppKey("store", CaseStore)
API_TOKEN = web.AppKey("api_token", str)
HEALTH = web.AppKey("health", dict)
TASKS = web.AppKey("tasks", list)


def bearer_ok(request: web.Request, token: str) -> bool:
    """Constant-time check of `Authorization: Bearer <token>`."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@web.middleware
async def api_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    """Require the desk API token on every /api/ route."""
    if request.path.startswith("/api/") and not bearer_ok(request, request.app[API_TOKEN]):
        return web.json_response({"error": "unauthorized"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
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
    store = request.app[STORE]
    cases = await asyncio.to_thread(store.list_cases, q.get("sender_id"), status, urgency,
                                    q.get("channel"), limit)
    return web.json_response([c.to_dict() for c in cases])


async def get_case(request: web.Request) -> web.Response:
    """GET /api/cases/{id}: one case with its history."""
    try:
        case_id = int(request.match_info["case_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    store = request.app[STORE]
    case = await asyncio.to_thread(store.get, case_id)
    if case is None:
        return web.json_response({"error": "not found"}, status=404)
    events = await asyncio.to_thread(store.events, case_id)
    return web.json_response({**case.to_dict(), "events": [e.to_dict() for e in events]})


async def health(request: web.Request) -> web.Response:
    """GET /health: database reachability and the state of background work."""
    store = request.app[STORE]
    db_ok = True
    try:
        await asyncio.to_thread(_ping, store.engine)
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        db_ok = False
    body = {"database": "ok" if db_ok else "down", **request.app[HEALTH]}
    ok = db_ok and all(v in ("ok", "off") for k, v in body.items() if isinstance(v, str))
    body["status"] = "ok" if ok else "degraded"
    return web.json_response(body, status=200 if ok else 503)


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


async def _drain_spool_forever(app: web.Application) -> None:
    store = app[STORE]
    while True:
        try:
            count = await asyncio.to_thread(drain_spool, store)
            if count:
                log.warning("imported %d spooled case(s)", count)
            app[HEALTH]["spool"] = "ok"
        except Exception:  # noqa: BLE001 - keep retrying, report on /health
            log.exception("could not import spooled cases")
            app[HEALTH]["spool"] = "failing"
        await asyncio.sleep(5)


async def _process_deletions_forever(app: web.Application) -> None:
    from bot.privacy import process_deletions

    store = app[STORE]
    while True:
        try:
            await asyncio.to_thread(process_deletions, store.engine)
            app[HEALTH]["deletions"] = "ok"
        except Exception:  # noqa: BLE001 - keep retrying, report on /health
            log.exception("could not process deletion requests")
            app[HEALTH]["deletions"] = "failing"
        await asyncio.sleep(2)


async def _start_background(app: web.Application) -> None:
    app[TASKS] = [asyncio.create_task(_drain_spool_forever(app)),
                  asyncio.create_task(_process_deletions_forever(app))]


async def _stop_background(app: web.Application) -> None:
    for task in app[TASKS]:
        task.cancel()


def create_app(engine: Engine, api_token: str) -> web.Application:
    """Build the desk application around a database engine and the API token."""
    app = web.Application(middlewares=[api_auth], client_max_size=1024 * 1024)
    app[STORE] = CaseStore(engine)
    app[API_TOKEN] = api_token
    app[HEALTH] = {}
    app.router.add_get("/api/cases", list_cases)
    app.router.add_get("/api/cases/{case_id}", get_case)
    app.router.add_get("/health", health)
    app.on_startup.append(_start_background)
    app.on_cleanup.append(_stop_background)
    return app
