"""Every `web.AppKey` of the desk application, in one place.

Only the web glue (api, auth, console, jobs, app) imports this module, and none of the modules it
imports for the key types imports it back.
"""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.cases.store import CaseStore
from bot.desk.accounts import SessionManager
from bot.desk.commands import CaseCommands
from bot.desk.rasa import TranscriptReader
from bot.desk.reconcilers import Reconcilers
from bot.desk.settings import DeskSettings
from bot.desk.telegram.updates import TelegramUpdates
from bot.outbox.dispatcher import Dispatcher
from bot.runtime import Runtime
from bot.timeutil import Clock

SETTINGS = web.AppKey("settings", DeskSettings)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
RUNTIME = web.AppKey("runtime", Runtime)
STORE = web.AppKey("store", CaseStore)
API_TOKEN = web.AppKey("api_token", str)
# Background jobs write "ok" / "failing" here by name; /health reports them.
HEALTH: web.AppKey[dict[str, Any]] = web.AppKey("health")
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
COMMANDS = web.AppKey("commands", CaseCommands)
RECONCILERS = web.AppKey("reconcilers", Reconcilers)
TRANSCRIPTS = web.AppKey("transcripts", TranscriptReader)
# Present only when Telegram notifications are on.
TELEGRAM = web.AppKey("telegram", TelegramUpdates)
# A writable engine on Rasa's tracker store, for deletion requests (absent: deletions are not processed here).
TRACKER_WRITER = web.AppKey("tracker_writer", Engine)
SESSIONS = web.AppKey("sessions", SessionManager)
JINJA = web.AppKey("jinja", jinja2.Environment)
# Links of the console's navigation bar: {"label", "href", "roles"}.
NAV: web.AppKey[list[dict[str, Any]]] = web.AppKey("nav")
