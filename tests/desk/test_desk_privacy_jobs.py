"""The desk runs the deletion requests and the retention period in its background jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import create_engine, text

from bot.desk import keys
from bot.desk.app import create_app
from bot.privacy import request_deletion
from bot.timeutil import ManualClock, utcnow
from tests.desk.helpers import API_TOKEN, desk_runtime, desk_settings, eventually

pytestmark = pytest.mark.asyncio


async def test_deletions_and_retention_run_as_desk_jobs(engine, tmp_path) -> None:
    tracker = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    with tracker.begin() as conn:
        conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, "
                          "timestamp FLOAT, data TEXT)"))
        conn.execute(text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES "
                          "('zalo:9', 'user', :now, '{}'), ('zalo:old', 'user', :old, '{}')"),
                     {"now": utcnow().timestamp() - 60, "old": (utcnow() - timedelta(days=400)).timestamp()})
    request_deletion(engine, "zalo:9", now=utcnow() - timedelta(seconds=30))
    app = create_app(desk_runtime(engine), API_TOKEN, settings=desk_settings(None), tracker_writer=tracker,
                     clock=ManualClock(utcnow() + timedelta(seconds=1)))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        def left() -> int:
            with tracker.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM events")).scalar()
        await eventually(lambda: left() == 0, timeout=5)
        health = app[keys.HEALTH]
        await eventually(lambda: health.get("deletions") == "ok" and health.get("retention") == "ok", timeout=5)
    finally:
        await runner.cleanup()
        tracker.dispose()
