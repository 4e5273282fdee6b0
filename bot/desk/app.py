"""The desk's composition root: `create_app` builds the parts around one runtime and wires them; nothing else.

Order matters only once: the dispatcher is built first (its handlers need nothing from the rest), so the
commands and reconcilers can wake it after a commit. Clients are passed in; tests give fakes.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from telegram import Bot

from bot.config import MAX_REQUEST_BYTES
from bot.desk import jobs, keys
from bot.desk.accounts import SessionManager
from bot.desk.api import api_auth, setup_api
from bot.desk.commands import CaseCommands
from bot.desk.console import setup_console
from bot.desk.console.pages import make_jinja, security_headers
from bot.desk.delivery import (
    TRANSCRIPT_MAX_ATTEMPTS,
    RasaEvents,
    ResidentSender,
    on_dead_delivery,
    resident_handlers,
)
from bot.desk.limits import body_guard
from bot.desk.rasa import TranscriptReader
from bot.desk.reconcilers import Reconcilers
from bot.desk.settings import DeskSettings
from bot.desk.telegram.cards_out import CardSender, skip_telegram, skipping_handlers
from bot.desk.telegram.summary import KIND as SUMMARY
from bot.desk.telegram.summary import SummarySender
from bot.desk.telegram.updates import TelegramUpdates
from bot.outbox.dispatcher import Delivery, Dispatcher, OnDead
from bot.outreach.delivery import BroadcastDelivery
from bot.outreach.models import BROADCAST_KIND
from bot.runtime import Runtime
from bot.timeutil import Clock, SystemClock


def default_settings(api_token: str) -> DeskSettings:
    """Settings for a desk built without any (tests, tools): no Telegram, no Rasa, a session key from the token."""
    secret = hmac.new(api_token.encode(), b"desk-session", hashlib.sha256).hexdigest()
    return DeskSettings(session_secret=secret, rasa_url=None)


def _both(first: OnDead, second: OnDead) -> OnDead:
    """Two `on_dead` recorders, one after the other, in the same transaction."""
    def record(s: Session, item: Delivery, reason: str) -> None:
        first(s, item, reason)
        second(s, item, reason)
    return record


def create_app(runtime: Runtime, api_token: str, *, settings: DeskSettings | None = None,
               clock: Clock | None = None, telegram_bot: Bot | None = None,
               outbound: ResidentSender | None = None, rasa: RasaEvents | None = None,
               tracker_engine: Engine | None = None, tracker_writer: Engine | None = None) -> web.Application:
    """The desk application over the process runtime (its engine, case store and reloading content)."""
    if runtime.store is None:
        raise ValueError("the desk needs the project database")
    settings = settings or default_settings(api_token)
    clock = clock or SystemClock()
    engine = runtime.store.engine
    # Bodies: 1 MiB at most, and never inflated (aiohttp 3.9 inflates gzip/deflate request bodies without a bound).
    app = web.Application(middlewares=[security_headers, body_guard, api_auth], client_max_size=MAX_REQUEST_BYTES,
                          handler_args={"auto_decompress": False})
    app[keys.SETTINGS], app[keys.CLOCK], app[keys.API_TOKEN] = settings, clock, api_token
    app[keys.RUNTIME], app[keys.STORE], app[keys.HEALTH] = runtime, runtime.store, {}
    app[keys.TRANSCRIPTS] = TranscriptReader(tracker_engine)
    app[keys.SESSIONS] = SessionManager(engine, settings.session_secret, clock, settings.session_hours,
                                        settings.cookie_secure)
    app[keys.JINJA], app[keys.NAV] = make_jinja(), []

    bot = telegram_bot if settings.telegram_enabled else None  # notifications need a token and a group
    # Broadcasts call the platform senders once per message (no in-call retries: see bot.outreach.delivery).
    broadcasts = BroadcastDelivery(engine, clock, getattr(outbound, "senders", None) or {},
                                   settings.broadcast_limits, quota_wait=settings.broadcast_quota_wait)
    handlers = {**resident_handlers(outbound, rasa, app[keys.TRANSCRIPTS]),
                **(CardSender(bot, engine, settings, clock).handlers() if bot else skipping_handlers()),
                **(SummarySender(bot, engine, settings, clock).handlers() if bot else {SUMMARY: skip_telegram}),
                **broadcasts.handlers()}
    dispatcher = Dispatcher(engine, clock, handlers, max_backoff=settings.max_backoff,
                            max_attempts={"resident_push": settings.resident_max_attempts,
                                          "rasa_events": TRANSCRIPT_MAX_ATTEMPTS,
                                          BROADCAST_KIND: settings.broadcast_max_attempts},
                            on_dead=_both(on_dead_delivery(settings.telegram_enabled), broadcasts.on_dead))
    commands = CaseCommands(engine, clock, settings, hotlines=lambda: runtime.library.hotlines.emergency_lines(),
                            on_enqueue=dispatcher.poke)
    app[keys.DISPATCHER], app[keys.COMMANDS] = dispatcher, commands
    app[keys.RECONCILERS] = Reconcilers(engine, clock, settings, on_enqueue=dispatcher.poke)
    if bot:
        app[keys.TELEGRAM] = TelegramUpdates(bot, engine, settings, commands, clock)
    if tracker_writer is not None:
        app[keys.TRACKER_WRITER] = tracker_writer

    setup_api(app)
    setup_console(app)
    app.cleanup_ctx.append(jobs.background)
    return app
