"""ActionFallback keeps the unanswered message for review, and still replies when the database fails."""

from __future__ import annotations

from datetime import date

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine

from actions.actions import ActionFallback
from bot.assistant import Services, set_services
from bot.cases import CaseStore
from bot.staff import review


def _tracker(text: str, sender: str = "messenger:42") -> Tracker:
    latest = {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.31}, "entities": []}
    return Tracker(sender, {}, latest, [{"event": "user", "parse_data": latest}], False, None, {}, "action_listen")


async def test_fallback_feeds_the_queue(library, store: CaseStore) -> None:
    set_services(Services(library, store, today=lambda: date(2026, 11, 22)))
    try:
        dispatcher = CollectingDispatcher()
        events = await ActionFallback().run(dispatcher, _tracker("em tên là Vy, muốn hỏi học bổng"), {})
    finally:
        set_services(None)
    assert events == []
    assert len(dispatcher.messages) == 1
    assert [p["text"] for p in review.list_pending(store.engine)] == ["em tên là [tên], muốn hỏi học bổng"]


async def test_database_failure_never_breaks_the_reply(library, tmp_path) -> None:
    broken = CaseStore(create_engine(f"sqlite:///{tmp_path}/missing/dir/app.db", future=True))
    set_services(Services(library, broken, today=lambda: date(2026, 11, 22)))
    try:
        dispatcher = CollectingDispatcher()
        events = await ActionFallback().run(dispatcher, _tracker("muốn hỏi học bổng"), {})
    finally:
        set_services(None)
    assert events == []
    assert "chưa hiểu" in dispatcher.messages[0]["text"]
