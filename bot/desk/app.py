"""aiohttp application of the desk: case API, health, Telegram webhook, web console, background work."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bot.cases import STATUSES, URGENCIES, CaseEvent, CaseStore, drain_spool
from bot.db import session_factory
from bot.desk.auth import SESSIONS, SessionManager
from bot.desk.clock import Clock, SystemClock
from bot.desk.console import (
    JINJA,
    NAV,
    SERVICE,
    TRANSCRIPTS,
    make_jinja,
    security_headers,
    setup_console,
)
from bot.desk.models import PENDING, OutboxItem
from bot.desk.outbox import Delivery, Dispatcher, GiveUp, RetryLater, Skip
from bot.desk.rasa import RasaClient, TranscriptReader
from bot.desk.service import DeskService
from bot.desk.settings import DeskSettings

log = logging.getLogger(__name__)

STORE = web.AppKey("store", CaseStore)
API_TOKEN = web.AppKey("api_token", str)
HEALTH = web.AppKey("health", dict)
TASKS = web.AppKey("tasks", list)
SETTINGS = web.AppKey("settings", DeskSettings)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
GATEWAY = web.AppKey("gateway", object)
CLOCK = web.AppKey("clock", object)
CLEANUPS = web.AppKey("cleanups", list)


class ResidentSender(Protocol):
    """What the channels provide to reach a resident (bot.channels.outbound.Outbound)."""

    async def send_text(self, sender_id: str, text: str, *, by_human: bool = False) -> None:
        """Send a text to a channel-prefixed sender id; raises on failure."""
        ...


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


def _counselor_messages(engine: Engine, sender_id: str, after: int) -> list[dict[str, Any]]:
    from bot.cases import Case

    with session_factory(engine)() as s:
        rows = s.execute(select(CaseEvent).join(Case, Case.id == CaseEvent.case_id).where(
            Case.sender_id == sender_id, CaseEvent.id > after, CaseEvent.kind.in_(("counselor_reply",)))
            .order_by(CaseEvent.id).limit(200)).scalars()
        return [{"id": e.id, "case_id": e.case_id, "at": e.to_dict()["at"], "text": e.detail} for e in rows]


async def conversation_messages(request: web.Request) -> web.Response:
    """GET /api/conversations/{sender_id}/messages?after=<id>: counselor replies, for REST clients to fetch."""
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        return web.json_response({"error": "after must be a number"}, status=400)
    from bot.handoff import human_owner

    engine = request.app[STORE].engine
    sender_id = request.match_info["sender_id"]
    messages = await asyncio.to_thread(_counselor_messages, engine, sender_id, after)
    owner = await asyncio.to_thread(human_owner, engine, sender_id)
    return web.json_response({"sender_id": sender_id, "human_owner_case": owner, "messages": messages})


async def health(request: web.Request) -> web.Response:
    """GET /health: database reachability, notifications, hand-off delivery and background work."""
    store = request.app[STORE]
    db_ok = True
    try:
        await asyncio.to_thread(_ping, store.engine)
        await asyncio.to_thread(_delivery_health, request.app)
    except Exception:  # any failure means unhealthy
        db_ok = False
    body = {"database": "ok" if db_ok else "down", **request.app[HEALTH]}
    ok = db_ok and all(v in ("ok", "off") for k, v in body.items() if isinstance(v, str))
    body["status"] = "ok" if ok else "degraded"
    return web.json_response(body, status=200 if ok else 503)


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _delivery_health(app: web.Application) -> None:
    """Notifications fail when a Telegram row has failed and is still waiting; same for the hand-off."""
    settings = app[SETTINGS]
    with session_factory(app[STORE].engine)() as s:
        rows = s.execute(select(func.substr(OutboxItem.lane, 1, 3), func.count(), func.max(OutboxItem.attempts))
                         .where(OutboxItem.status == PENDING).group_by(func.substr(OutboxItem.lane, 1, 3))).all()
    stats = {prefix: (count, attempts or 0) for prefix, count, attempts in rows}
    tg_count = sum(stats.get(p, (0, 0))[0] for p in ("tg:", "tgs"))
    tg_attempts = max(stats.get(p, (0, 0))[1] for p in ("tg:", "tgs"))
    res_count, res_attempts = stats.get("res", (0, 0))
    health = app[HEALTH]
    gateway = app.get(GATEWAY)
    if not settings.telegram_enabled:
        health["notifications"] = "off"
    elif tg_attempts > 0 or (gateway is not None and getattr(gateway, "updates_state", "ok") != "ok"):
        health["notifications"] = "failing"
    else:
        health["notifications"] = "ok"
    health["handoff"] = "failing" if res_attempts > 0 else "ok"
    health["notifications_pending"] = tg_count
    health["handoff_pending"] = res_count


async def telegram_webhook(request: web.Request) -> web.Response:
    """POST /telegram/webhook: updates from Telegram, with the secret-token header checked."""
    gateway = request.app.get(GATEWAY)
    settings = request.app[SETTINGS]
    if gateway is None:
        raise web.HTTPNotFound()
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), settings.effective_webhook_secret.encode()):
        log.warning("rejected a Telegram webhook call with a wrong secret token")
        return web.json_response({"error": "forbidden"}, status=403)
    try:
        data = await request.json()
    except ValueError:
        return web.json_response({"error": "bad json"}, status=400)
    try:
        await gateway.process_update(data)  # type: ignore[attr-defined]
    except Exception:  # answer 200 so Telegram does not redeliver forever
        log.exception("could not handle a Telegram update")
    return web.json_response({"ok": True})


async def _every(interval: float, name: str, app: web.Application, fn: Callable[[], Any]) -> None:
    """Run a blocking function in a thread every `interval` seconds, reporting failures on /health."""
    while True:
        try:
            await asyncio.to_thread(fn)
            app[HEALTH][name] = "ok"
        except Exception:  # keep retrying, report on /health
            log.exception("background task %s failed", name)
            app[HEALTH][name] = "failing"
        await asyncio.sleep(interval)


async def _drain_spool_forever(app: web.Application) -> None:
    store = app[STORE]
    while True:
        try:
            count = await asyncio.to_thread(drain_spool, store)
            if count:
                log.warning("imported %d spooled case(s)", count)
            app[HEALTH]["spool"] = "ok"
        except Exception:  # keep retrying, report on /health
            log.exception("could not import spooled cases")
            app[HEALTH]["spool"] = "failing"
        await asyncio.sleep(5)


async def _process_deletions_forever(app: web.Application) -> None:
    from bot.privacy import process_deletions, tracker_writer

    store = app[STORE]
    tracker = tracker_writer()
    try:
        while True:
            try:
                await asyncio.to_thread(process_deletions, store.engine, tracker)
                app[HEALTH]["deletions"] = "ok"
            except Exception:  # keep retrying, report on /health
                log.exception("could not process deletion requests")
                app[HEALTH]["deletions"] = "failing"
            await asyncio.sleep(2)
    finally:
        tracker.dispose()


def _scan(service: DeskService) -> None:
    service.announce_new_cases()
    service.forward_events()


def _escalate(service: DeskService) -> None:
    service.reescalate_due()
    service.flag_stale()


async def _start_background(app: web.Application) -> None:
    settings = app[SETTINGS]
    service = app[SERVICE]
    dispatcher = app[DISPATCHER]
    await asyncio.to_thread(dispatcher.release_leases)
    tasks = [asyncio.create_task(_drain_spool_forever(app)),
             asyncio.create_task(_process_deletions_forever(app)),
             asyncio.create_task(dispatcher.run_forever(settings.outbox_interval)),
             asyncio.create_task(_every(settings.scan_interval, "case_scan", app, lambda: _scan(service))),
             asyncio.create_task(_every(settings.escalation_interval, "escalation", app,
                                        lambda: _escalate(service)))]
    if settings.watch_rest_tracker:
        reader = app[TRANSCRIPTS]
        tasks.append(asyncio.create_task(_every(settings.rest_watch_interval, "rest_watch", app,
                                                lambda: service.watch_rest_conversations(reader))))
    gateway = app.get(GATEWAY)
    if gateway is not None:
        tasks.append(asyncio.create_task(_every(3600, "housekeeping", app,
                                                gateway.prune_seen_updates)))  # type: ignore[attr-defined]
    if not settings.telegram_enabled:
        log.warning("Telegram notifications are off (TELEGRAM_BOT_TOKEN or TELEGRAM_COUNSELOR_CHAT_ID not set); "
                    "the console still shows every case")
    elif gateway is not None and settings.update_mode != "off":
        if settings.uses_webhook:
            tasks.append(asyncio.create_task(gateway.register_webhook_forever()))  # type: ignore[attr-defined]
        else:
            tasks.append(asyncio.create_task(gateway.poll_forever()))  # type: ignore[attr-defined]
    app[TASKS] = tasks


async def _stop_background(app: web.Application) -> None:
    for task in app[TASKS]:
        task.cancel()
    await asyncio.gather(*app[TASKS], return_exceptions=True)
    for cleanup in app[CLEANUPS]:
        await cleanup()


def _resident_handlers(outbound: ResidentSender | None, rasa: RasaClient | None,
                       transcripts: TranscriptReader) -> dict[str, Any]:
    warned: set[str] = set()

    async def rasa_events(item: Delivery) -> None:
        if rasa is None:
            raise Skip("no Rasa API configured")
        sender, events = str(item.payload["sender_id"]), list(item.payload["events"])
        keys = {str((e.get("metadata") or {}).get("desk_key")) for e in events if e.get("event") == "bot"}
        if keys:
            # A crash after Rasa stored the message but before the row was marked sent: do not repeat it.
            done = await asyncio.to_thread(transcripts.delivered_keys, sender)
            if done is not None and keys <= done:
                return
        await rasa.append_events(sender, events)

    async def resident_push(item: Delivery) -> None:
        if outbound is None:
            if "outbound" not in warned:
                warned.add("outbound")
                log.warning("no channel sender (bot.channels.outbound) available; counselor messages reach "
                            "residents only through the conversation transcript")
            raise GiveUp("no channel sender available")
        try:
            await outbound.send_text(str(item.payload["sender_id"]), str(item.payload["text"]),
                                     by_human=bool(item.payload.get("by_human")))
        except Exception as exc:  # SendError and transport errors
            reason = str(getattr(exc, "reason", "") or type(exc).__name__)[:120]
            if getattr(exc, "retryable", True) is False:
                raise GiveUp(f"channel refused: {reason}") from exc
            raise RetryLater(f"channel send failed: {reason}") from exc

    return {"rasa_events": rasa_events, "resident_push": resident_push}


def create_app(engine: Engine, api_token: str, *, settings: DeskSettings | None = None,
               clock: Clock | None = None, telegram_bot: Any = None, outbound: ResidentSender | None = None,
               rasa: RasaClient | None = None, tracker_engine: Engine | None = None,
               extensions: Sequence[Callable[[web.Application], None]] = (),
               cleanups: Sequence[Callable[[], Any]] = ()) -> web.Application:
    """Build the desk around an engine and the API token; clients are passed in (tests give fakes)."""
    if settings is None:
        secret = hmac.new(api_token.encode(), b"desk-session", hashlib.sha256).hexdigest()
        settings = DeskSettings(session_secret=secret, rasa_url=None)
    clock = clock or SystemClock()
    app = web.Application(middlewares=[security_headers, api_auth], client_max_size=1024 * 1024)
    app[STORE] = CaseStore(engine)
    app[API_TOKEN] = api_token
    app[HEALTH] = {}
    app[TASKS] = []
    app[CLEANUPS] = list(cleanups)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[JINJA] = make_jinja()
    app[NAV] = []
    app[SESSIONS] = SessionManager(engine, settings.session_secret, clock, settings.session_hours,
                                   settings.cookie_secure)
    app[TRANSCRIPTS] = TranscriptReader(tracker_engine)
    dispatcher_box: list[Dispatcher] = []
    service = DeskService(engine, clock, settings, on_enqueue=lambda: dispatcher_box[0].poke()
                          if dispatcher_box else None)
    app[SERVICE] = service
    handlers: dict[str, Any] = _resident_handlers(outbound, rasa, app[TRANSCRIPTS])
    if telegram_bot is not None and settings.telegram_enabled:
        from bot.desk.telegram import TelegramGateway

        gateway = TelegramGateway(telegram_bot, engine, settings, service, clock)
        app[GATEWAY] = gateway
        handlers.update(gateway.handlers())
        app[CLEANUPS].append(gateway.shutdown)
    else:
        for kind in ("tg_card", "tg_supervisor_card", "tg_refresh", "tg_notice", "tg_forward"):
            handlers[kind] = _skip_telegram
    dispatcher = Dispatcher(engine, clock, handlers, max_backoff=settings.max_backoff,
                            max_attempts={"resident_push": settings.resident_max_attempts})
    dispatcher_box.append(dispatcher)
    app[DISPATCHER] = dispatcher
    app.router.add_get("/api/cases", list_cases)
    app.router.add_get("/api/cases/{case_id}", get_case)
    app.router.add_get("/api/conversations/{sender_id}/messages", conversation_messages)
    app.router.add_get("/health", health)
    app.router.add_post("/telegram/webhook", telegram_webhook)
    setup_console(app)
    for extend in extensions:
        extend(app)
    app.on_startup.append(_start_background)
    app.on_cleanup.append(_stop_background)
    return app


async def _skip_telegram(item: Delivery) -> None:
    raise Skip("telegram notifications are off")
