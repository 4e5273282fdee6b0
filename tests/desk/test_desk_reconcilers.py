"""The reconcilers are backstops: a case already has its card row; only a case without one gets it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from bot.cases.models import Case, CaseEvent
from bot.cases.store import CaseRequest, CaseStore
from bot.db.engine import session_factory
from bot.desk.rasa import TranscriptReader
from bot.desk.reconcilers import Reconcilers
from bot.desk.settings import DeskSettings
from bot.outbox.models import OutboxItem
from bot.timeutil import SystemClock, utcnow
from tests.desk.helpers import open_case

pytestmark = pytest.mark.asyncio


def card_keys(engine) -> list[str]:
    """Keys of the card rows, in order."""
    with session_factory(engine)() as s:
        return list(s.execute(select(OutboxItem.dedup_key).where(OutboxItem.kind == "tg_card")
                              .order_by(OutboxItem.id)).scalars())


def legacy_case(engine) -> int:
    """A case written without its card row (by a process older than the card-with-the-case change)."""
    now = utcnow()
    with session_factory(engine).begin() as s:
        case = Case(channel="zalo", sender_id="zalo:old", urgency="danger_now", status="open", created_at=now,
                    updated_at=now, message="cứu", reasons="kêu cứu")
        s.add(case)
        s.flush()
        return int(case.id)


async def test_only_cases_without_a_card_row_get_one_and_only_once(engine) -> None:
    woken: list[int] = []
    settings = DeskSettings(session_secret="x" * 16, telegram_token="1:t", counselor_chat_id="-1")
    reconcilers = Reconcilers(engine, SystemClock(), settings, on_enqueue=lambda: woken.append(1))
    queued = open_case(engine)
    assert card_keys(engine) == [f"card:{queued}"]  # written with the case
    assert reconcilers.announce_new_cases() == 0 and woken == []
    old = legacy_case(engine)
    assert reconcilers.announce_new_cases() == 1 and woken == [1]
    assert reconcilers.announce_new_cases() == 0
    assert card_keys(engine) == [f"card:{queued}", f"card:{old}"]


async def test_without_telegram_nothing_is_queued(engine) -> None:
    reconcilers = Reconcilers(engine, SystemClock(), DeskSettings(session_secret="x" * 16))
    legacy_case(engine)
    assert reconcilers.announce_new_cases() == 0 and reconcilers.forward_events() == 0
    assert card_keys(engine) == []


def _tracker(tmp_path, rows: list[tuple[str, float, dict]]):
    """A tracker store with Rasa's `events` columns the desk reads, holding the given user events."""
    tracker = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    with tracker.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR, type_name VARCHAR, "
                             "timestamp FLOAT, data TEXT)")
        for sender, at, data in rows:
            conn.exec_driver_sql("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
                                 (sender, at, json.dumps({"event": "user", **data})))
    return tracker


async def test_rest_watcher_keeps_a_repeated_message_and_skips_the_one_the_action_joined(engine, tmp_path) -> None:
    sender = "rest:lan"
    case_id = open_case(engine, sender=sender)
    claimed_at = utcnow()
    with session_factory(engine).begin() as s:
        case = s.get(Case, case_id)
        case.status, case.claimed_at, case.claimed_by = "claimed", claimed_at, "lan"
    # The action joined one message to the case (with Rasa's message id) after the claim.
    CaseStore(engine).open_case(CaseRequest(channel="rest", sender_id=sender, urgency="danger_now", message="cứu",
                                            reasons=("kêu cứu",), message_id="m-joined"))
    t = claimed_at.timestamp() + 1
    tracker = _tracker(tmp_path, [(sender, t, {"text": "cứu", "message_id": "m-joined"}),
                                  (sender, t + 1, {"text": "cứu", "message_id": "m-2"}),
                                  (sender, t + 2, {"text": "cứu", "message_id": "m-3"})])
    settings = DeskSettings(session_secret="x" * 16)
    Reconcilers(engine, SystemClock(), settings).watch_rest_conversations(TranscriptReader(tracker))
    with session_factory(engine)() as s:
        got = s.execute(select(CaseEvent.message_id).where(CaseEvent.case_id == case_id,
                                                           CaseEvent.kind == "resident_message")
                        .order_by(CaseEvent.id)).scalars().all()
    assert got == ["m-joined", "m-2", "m-3"]  # the repeated "cứu" arrives twice more, the joined one not again
