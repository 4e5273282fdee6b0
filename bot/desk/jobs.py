"""The desk's background work as one `cleanup_ctx`: every loop starts before `yield`, is cancelled after.

The loops: the outbox dispatcher, the reconcilers (cards and forwards that slipped through), reminders
(re-escalation, stale claims), the pinned queue summary in the counselors' group, the spool import, deletion
requests (bot.privacy), broadcasts (bot.outreach.scheduler: start due ones, event reminders), the retention
period (bot.retention), the REST watcher and Telegram updates (long polling or webhook registration). A loop that fails keeps running and says so on /health.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiohttp import web

from bot.cases.spool import drain_spool
from bot.desk import keys
from bot.desk.telegram.summary import SummaryWatcher
from bot.outreach.scheduler import BroadcastScheduler
from bot.privacy import process_deletions
from bot.retention import PrivacySettings, privacy_settings_from_env, purge_expired

log = logging.getLogger(__name__)
SPOOL_INTERVAL = 5.0
DELETIONS_INTERVAL = 2.0
HOUSEKEEPING_INTERVAL = 3600.0
SHUTDOWN_SECONDS = 30.0
RETENTION_INTERVAL = 3600.0


async def every(interval: float, name: str, app: web.Application, fn: Callable[[], Any]) -> None:
    """Run a blocking function in a thread every `interval` seconds, reporting failures on /health."""
    while True:
        try:
            await asyncio.to_thread(fn)
            app[keys.HEALTH][name] = "ok"
        except Exception:  # keep retrying, report on /health
            log.exception("background task %s failed", name)
            app[keys.HEALTH][name] = "failing"
        await asyncio.sleep(interval)


def _import_spool(app: web.Application) -> None:
    count = drain_spool(app[keys.STORE])
    if count:
        log.warning("imported %d spooled case(s)", count)


def _apply_retention(app: web.Application, privacy: PrivacySettings) -> None:
    purged = purge_expired(app[keys.STORE].engine, app.get(keys.TRACKER_WRITER), privacy.retention,
                           privacy.token_key, app[keys.CLOCK].now())
    if any(purged.values()):
        log.info("retention: %s", ", ".join(f"{name} {count}" for name, count in purged.items() if count))


def _loops(app: web.Application) -> list[Coroutine[Any, Any, None]]:
    settings = app[keys.SETTINGS]
    privacy = privacy_settings_from_env(settings.session_secret)
    reconcilers = app[keys.RECONCILERS]
    loops = [
        app[keys.DISPATCHER].run_forever(settings.outbox_interval),
        every(SPOOL_INTERVAL, "spool", app, lambda: _import_spool(app)),
        every(settings.reconcile_interval, "reconcile", app,
              lambda: (reconcilers.announce_new_cases(), reconcilers.forward_events())),
        every(settings.escalation_interval, "escalation", app,
              lambda: (reconcilers.reescalate_due(), reconcilers.flag_stale())),
    ]
    if settings.telegram_enabled:
        summary = SummaryWatcher(app[keys.STORE].engine, app[keys.CLOCK], settings, app[keys.DISPATCHER].poke)
        loops.append(every(settings.escalation_interval, "summary", app, summary.check))
    tracker = app.get(keys.TRACKER_WRITER)
    if tracker is not None:
        engine, clock = app[keys.STORE].engine, app[keys.CLOCK]
        loops.append(every(DELETIONS_INTERVAL, "deletions", app,
                           lambda: process_deletions(engine, tracker, privacy.token_key, clock)))
    loops.append(every(RETENTION_INTERVAL, "retention", app, lambda: _apply_retention(app, privacy)))
    runtime = app[keys.RUNTIME]
    scheduler = BroadcastScheduler(app[keys.STORE].engine, app[keys.CLOCK], lambda: runtime.library,
                                   auto_approve_reminders=settings.broadcast_reminders_auto,
                                   on_enqueue=app[keys.DISPATCHER].poke)
    loops.append(every(settings.broadcast_interval, "broadcasts", app, scheduler.tick))
    if settings.watch_rest_tracker:
        reader = app[keys.TRANSCRIPTS]
        loops.append(every(settings.rest_watch_interval, "rest_watch", app,
                           lambda: reconcilers.watch_rest_conversations(reader)))
    updates = app.get(keys.TELEGRAM)
    if updates is None:
        log.warning("Telegram notifications are off (TELEGRAM_BOT_TOKEN or TELEGRAM_COUNSELOR_CHAT_ID not set); "
                    "the console still shows every case")
        return loops
    loops.append(every(HOUSEKEEPING_INTERVAL, "housekeeping", app, updates.prune_seen_updates))
    if settings.update_mode != "off":
        loops.append(updates.register_webhook_forever() if settings.uses_webhook else updates.poll_forever())
    return loops


async def background(app: web.Application) -> AsyncIterator[None]:
    """Start every loop; on shutdown cancel them, wait for them, and close the Telegram client."""
    await asyncio.to_thread(app[keys.DISPATCHER].release_leases)
    tasks = [asyncio.create_task(loop) for loop in _loops(app)]
    try:
        yield
    finally:
        await stop_tasks(tasks)
        updates = app.get(keys.TELEGRAM)
        if updates is not None:
            try:
                await asyncio.wait_for(updates.shutdown(), SHUTDOWN_SECONDS)
            except asyncio.TimeoutError:
                log.error("the Telegram client did not close within %s s; shutting down anyway", SHUTDOWN_SECONDS)


async def stop_tasks(tasks: list[asyncio.Task[Any]], seconds: float = SHUTDOWN_SECONDS) -> None:
    """Cancel the loops and wait for them, cancelling again any that swallowed a cancellation; never hang."""
    pending = {task for task in tasks if not task.done()}
    deadline = asyncio.get_running_loop().time() + seconds
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            log.error("%d background loop(s) did not stop within %s s: %s", len(pending), seconds,
                      ", ".join(sorted(task.get_name() for task in pending)))
            return
        _, pending = await asyncio.wait(pending, timeout=min(1.0, left))
