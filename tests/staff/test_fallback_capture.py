"""ActionFallback keeps the unanswered message for review, and still replies when the database fails."""

from __future__ import annotations

from datetime import date

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine

from actions.actions import ActionFallback
from bot.cases.store import CaseStore
from bot.runtime import fixed_runtime, set_process_runtime
from bot.staff import review


def _tracker(text: str, sender: str = "messenger:42") -> Tracker:
    latest = {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.31}, "entities": []}
    return Tracker(sender, {}, latest, [{"event": "user", "parse_data": latest}], False, None, {}, "action_listen")


async def test_fallback_feeds_the_queue(library, store: CaseStore) -> None:
    set_process_runtime(fixed_runtime(library, store, today=lambda: date(2026, 11, 22)))
    try:
        dispatcher = CollectingDispatcher()
        events = await ActionFallback().run(dispatcher, _tracker("em tên là Vy, muốn hỏi học bổng"), {})
    finally:
        set_process_runtime(None)
    assert events == []
    assert len(dispatcher.messages) == 1
    assert [p["text"] for p in review.list_pending(store.engine)] == ["em tên là [tên], muốn hỏi học bổng"]


async def test_database_failure_never_breaks_the_reply(library, tmp_path) -> None:
    broken = CaseStore(create_engine(f"sqlite:///{tmp_path}/missing/dir/app.db", future=True))
    set_process_runtime(fixed_runtime(library, broken, today=lambda: date(2026, 11, 22)))
    try:
        dispatcher = CollectingDispatcher()
        events = await ActionFallback().run(dispatcher, _tracker("muốn hỏi học bổng"), {})
    finally:
        set_process_runtime(None)
    assert events == []
    assert "chưa hiểu" in dispatcher.messages[0]["text"]
