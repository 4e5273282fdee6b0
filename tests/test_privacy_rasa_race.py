"""The race with Rasa's own SQL tracker store: a turn saved after the deletion re-inserts the session; the
next pass removes it again, and what she writes afterwards is kept."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from sqlalchemy import create_engine, text

from bot.privacy import TURN_SLACK, WATCH, process_deletions, request_deletion
from bot.timeutil import ManualClock, utcnow

KEY = b"r" * 32
SENDER = "telegram:5151515151"


def stored(tracker_engine) -> list[str]:
    """The stored events of her conversation, as their text (empty for events without one)."""
    with tracker_engine.connect() as conn:
        rows = conn.execute(text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": SENDER})
        return [json.loads(r[0]).get("text") or "" for r in rows]


@pytest.mark.asyncio
async def test_a_turn_saved_after_the_deletion_is_deleted_again(engine, tmp_path) -> None:
    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker_engine = create_engine(f"sqlite:///{path}", future=True)
    start = time.time() - 120
    tracker = await store.get_or_create_tracker(SENDER, append_action_listen=False)
    for i, event in enumerate([ActionExecuted("action_session_start"), SessionStarted(),
                               UserUttered("chồng tôi đánh tôi"), BotUttered("Gọi 113"),
                               UserUttered("xóa dữ liệu của tôi"), UserUttered("có")]):
        event.timestamp = start + i
        tracker.update(event)
    await store.save(tracker)
    in_flight = await store.retrieve(SENDER)  # the asking turn, still running in Rasa
    now = utcnow()
    request_deletion(engine, SENDER, now=now)
    clock = ManualClock(now + timedelta(seconds=4))
    process_deletions(engine, tracker_engine, KEY, clock)
    assert stored(tracker_engine) == []
    for event in (ActionExecuted("action_delete_data"), BotUttered("Mình đã ghi nhận yêu cầu")):
        event.timestamp = now.timestamp() + 1
        in_flight.update(event)
    await store.save(in_flight)  # Rasa counts 0 stored events and writes the whole session back
    assert any("chồng tôi đánh tôi" in d for d in stored(tracker_engine))
    clock.advance(seconds=2)
    process_deletions(engine, tracker_engine, KEY, clock)
    assert stored(tracker_engine) == []
    later = await store.get_or_create_tracker(SENDER, append_action_listen=False)  # she writes again later
    message = UserUttered("cho tôi hỏi về sự kiện")
    message.timestamp = (now + TURN_SLACK + timedelta(minutes=5)).timestamp()
    later.update(message)
    await store.save(later)
    clock.set(now + TURN_SLACK + WATCH + timedelta(seconds=1))
    assert process_deletions(engine, tracker_engine, KEY, clock) == 1
    assert [("sự kiện" in d) for d in stored(tracker_engine)] == [True]
    tracker_engine.dispose()
