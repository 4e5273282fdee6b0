"""'Delete my data': every table that names the sender is erased, her open case is kept, and a late save is undone."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text, update

from bot.cases.models import CLAIMED, RESOLVED, Case, CaseEvent
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.erasure import ERASED, anonymous_token
from bot.outbox.models import PENDING, SENT, DeliveryFailure, OutboxItem
from bot.privacy import GRACE, TURN_SLACK, WATCH, DeletionRequest, process_deletions, request_deletion
from bot.review_queue import ReviewItem
from bot.timeutil import UTC, ManualClock

KEY = b"k" * 32
SENDER, OTHER = "zalo:4242424242", "zalo:7373737373"
HER_ID = SENDER.split(":")[1]
SECRET = "chồng tôi ở số 12 ngõ Hoa"  # her words: must not survive anywhere
OTHER_WORDS = "lời của người khác"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def tracker(tmp_path: Path):
    """A tracker store with Rasa's `events` table (as rasa.core.tracker_store.SQLTrackerStore creates it)."""
    eng = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                          "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                          "action_name VARCHAR(255), data TEXT)"))
    yield eng
    eng.dispose()


def add_events(eng, sender: str, *moments: datetime, words: str = SECRET) -> None:
    with eng.begin() as conn:
        for at in moments:
            conn.execute(text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, :d)"),
                         {"s": sender, "t": at.timestamp(), "d": json.dumps({"text": words})})


def events_of(eng, sender: str) -> list[float]:
    with eng.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT timestamp FROM events WHERE sender_id = :s ORDER BY id"),
                                           {"s": sender})]


def request(engine) -> ManualClock:
    request_deletion(engine, SENDER, now=T0)
    return ManualClock(T0)


def the_request(engine) -> DeletionRequest:
    with session_factory(engine)() as s:
        return s.execute(select(DeletionRequest)).scalar_one()


def test_request_waits_for_the_grace_period_then_deletes_only_that_sender(engine, tracker) -> None:
    add_events(tracker, SENDER, T0 - timedelta(days=3), T0 - timedelta(seconds=5))
    add_events(tracker, OTHER, T0 - timedelta(seconds=5))
    clock = request(engine)
    clock.advance(seconds=1)
    process_deletions(engine, tracker, KEY, clock)
    assert len(events_of(tracker, SENDER)) == 2
    clock.advance(seconds=GRACE.total_seconds())
    process_deletions(engine, tracker, KEY, clock)
    assert events_of(tracker, SENDER) == [] and len(events_of(tracker, OTHER)) == 1


def test_a_late_save_after_the_first_pass_is_deleted_again_and_new_messages_stay(engine, tracker) -> None:
    old = [T0 - timedelta(days=2), T0 - timedelta(seconds=2)]
    add_events(tracker, SENDER, *old)
    clock = request(engine)
    clock.advance(seconds=4)
    process_deletions(engine, tracker, KEY, clock)
    assert events_of(tracker, SENDER) == []
    # A Rasa turn that loaded the conversation before the deletion saves it now: Rasa counts 0 stored events
    # and writes the whole session again, with the asking turn's own last events just after the request.
    add_events(tracker, SENDER, *old, T0 + timedelta(seconds=1))
    add_events(tracker, SENDER, T0 + TURN_SLACK + timedelta(minutes=1), words="tin nhắn mới")
    clock.advance(seconds=2)
    assert process_deletions(engine, tracker, KEY, clock) == 0
    assert events_of(tracker, SENDER) == [(T0 + TURN_SLACK + timedelta(minutes=1)).timestamp()]
    assert the_request(engine).done_at is None
    clock.set(T0 + TURN_SLACK + WATCH + timedelta(seconds=1))
    assert process_deletions(engine, tracker, KEY, clock) == 1
    req = the_request(engine)
    assert req.done_at is not None and req.sender_id == anonymous_token(KEY, SENDER)
    assert len(events_of(tracker, SENDER)) == 1  # written after the request: a new conversation


def seed_everything(engine, sender: str, status: str = RESOLVED, words: str = SECRET) -> int:
    """One of every row that can name a sender or hold her text; returns the case id."""
    now, pid = T0 - timedelta(days=1), sender.split(":")[1]
    inbox = Base.metadata.tables["channel_inbox"]
    marks = Base.metadata.tables["desk_tracker_marks"]
    posted = Base.metadata.tables["desk_tg_messages"]
    with session_factory(engine).begin() as s:
        case = Case(channel="zalo", sender_id=sender, urgency="danger_now", status=status, created_at=now,
                    updated_at=now, message=words, reasons="bạo lực", message_id=f"zalo:{pid}:77",
                    resolved_at=now if status == RESOLVED else None, outcome_note=f"đã gọi lại: {words}")
        s.add(case)
        s.flush()
        for kind, actor, detail in (("created", "bot", "bạo lực"), ("resident_message", sender, words),
                                    ("counselor_reply", "Lan", f"Lan trả lời: {words}"),
                                    ("note", "Lan", f"ghi chú {words}")):
            s.add(CaseEvent(case_id=case.id, kind=kind, actor=actor, detail=detail, at=now))
        for key, kind, lane, payload in (
                (f"bot_reply:zalo:follow:{pid}:1700:0", "bot_reply", f"reply:{sender}", {"sender_id": sender,
                                                                                      "text": words}),
                (f"reply:{case.id}:push", "resident_push", f"res:{sender}", {"sender_id": sender, "text": words}),
                (f"reply:{case.id}:rasa", "rasa_events", f"rasa:{sender}", {"sender_id": sender, "events": [words]}),
                (f"stale:{case.id}", "tg_notice", f"tg:{case.id}", {"text": words})):
            s.add(OutboxItem(dedup_key=key, kind=kind, lane=lane, case_id=case.id,
                             payload=json.dumps(payload, ensure_ascii=False),
                             status=SENT, created_at=now, next_attempt_at=now))
        s.add(ReviewItem(sender_id=sender, channel="zalo", text=words, norm=words, created_at=now, last_seen_at=now))
        s.add(ReviewItem(sender_id=sender, channel="zalo", text=words, norm="x", status="assigned",
                         created_at=now, last_seen_at=now))
        s.add(DeliveryFailure(at=now, channel="zalo", sender_id=sender, urgent=True, error="blocked"))
        for inbox_key in (f"zalo:msg-{case.id}", f"zalo:follow:{pid}:1700"):
            s.execute(insert(inbox).values(key=inbox_key, channel="zalo", sender_id=sender, kind="text",
                                           status="done", received_at=now, expires_at=now + timedelta(days=7)))
        s.execute(insert(marks).values(sender_id=sender, last_event_id=3))
        s.execute(insert(posted).values(case_id=case.id, chat_id="-100", message_id=case.id, role="card", created_at=now))
        return case.id


def strings_naming(engine, *needles: str) -> list[str]:
    """Every stored value, in every table of the project, that contains one of the needles."""
    found = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                found += [f"{table.name}.{col}" for col, value in row.items()
                          if isinstance(value, str) and any(n in value for n in needles)]
    return found


def test_deletion_erases_every_table_and_keeps_counts(engine, tracker) -> None:
    case_id = seed_everything(engine, SENDER)
    seed_everything(engine, OTHER, words=OTHER_WORDS)
    add_events(tracker, SENDER, T0 - timedelta(hours=1))
    clock = request(engine)
    clock.advance(seconds=4)
    process_deletions(engine, tracker, KEY, clock)
    assert strings_naming(engine, SECRET) == []
    assert strings_naming(engine, HER_ID) == ["deletion_requests.sender_id"]  # until the request is finished
    assert len(strings_naming(engine, OTHER.split(":")[1], OTHER_WORDS)) >= 15  # the other resident is untouched
    with session_factory(engine)() as s:
        case = s.get(Case, case_id)
        assert case.message == ERASED and case.sender_id == anonymous_token(KEY, SENDER)
        details = {e.kind: e.detail for e in s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)).scalars()}
        assert details["created"] == "bạo lực"  # structure stays, text goes
        assert {details[k] for k in ("resident_message", "counselor_reply", "note")} == {ERASED}
        refresh = s.execute(select(OutboxItem).where(OutboxItem.dedup_key == f"erased:{case_id}")).scalar_one()
        assert refresh.kind == "tg_refresh"  # the group's card is re-rendered without her words
        assert s.execute(select(Case).where(Case.sender_id == OTHER)).scalar_one().message == OTHER_WORDS
    assert events_of(tracker, SENDER) == []
    with engine.connect() as conn:  # counts still work: one failure, one case, under her token
        assert conn.execute(select(DeliveryFailure.sender_id)).scalars().all().count(anonymous_token(KEY, SENDER)) == 1


def _values_of_case(engine, case_id: int) -> list[str]:
    with engine.connect() as conn:
        rows = [*conn.execute(select(Case).where(Case.id == case_id)).mappings(),
                *conn.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)).mappings(),
                *conn.execute(select(OutboxItem).where(OutboxItem.case_id == case_id)).mappings()]
    return [v for row in rows for v in row.values() if isinstance(v, str)]


def test_an_open_case_is_kept_until_resolved_then_anonymised_with_its_conversation(engine, tracker) -> None:
    case_id = seed_everything(engine, SENDER, status=CLAIMED)
    add_events(tracker, SENDER, T0 - timedelta(hours=1))
    clock = request(engine)
    clock.advance(seconds=4)
    process_deletions(engine, tracker, KEY, clock)
    with session_factory(engine)() as s:
        assert s.get(Case, case_id).message == SECRET  # the counselor still needs it
        assert s.execute(select(ReviewItem).where(ReviewItem.sender_id == SENDER)).first() is None
    assert the_request(engine).kept == "open_case" and len(events_of(tracker, SENDER)) == 1
    add_events(tracker, SENDER, T0 + timedelta(minutes=30))  # she talks with the counselor after asking
    clock.advance(hours=2)
    with session_factory(engine).begin() as s:
        s.execute(update(Case).where(Case.id == case_id).values(status=RESOLVED, resolved_at=clock.now()))
    clock.advance(minutes=2)
    process_deletions(engine, tracker, KEY, clock)
    with session_factory(engine)() as s:
        assert s.get(Case, case_id).message == ERASED
    assert events_of(tracker, SENDER) == []
    assert all(SECRET not in v and HER_ID not in v for v in _values_of_case(engine, case_id))


def test_rows_in_flight_are_never_touched_and_the_request_waits_for_them(engine, tracker) -> None:
    inbox = Base.metadata.tables["channel_inbox"]
    hotline = "Gọi ngay 113"
    with session_factory(engine).begin() as s:
        s.execute(insert(inbox).values(key="zalo:late", channel="zalo", sender_id=SENDER, kind="text", text=SECRET,
                                       status="pending", received_at=T0, expires_at=T0 + timedelta(days=7)))
        s.add(OutboxItem(dedup_key="bot_reply:zalo:late:0", kind="bot_reply", lane=f"reply:{SENDER}",
                         payload=json.dumps({"sender_id": SENDER, "text": hotline, "urgent": True},
                                            ensure_ascii=False),
                         status=PENDING, created_at=T0, next_attempt_at=T0))
    clock = request(engine)
    clock.set(T0 + TURN_SLACK + WATCH + timedelta(minutes=5))
    assert process_deletions(engine, tracker, KEY, clock) == 0
    assert the_request(engine).kept == "in_flight"
    with engine.connect() as conn:
        assert conn.execute(select(inbox.c.text, inbox.c.sender_id)).one() == (SECRET, SENDER)
        assert hotline in conn.execute(select(OutboxItem.payload)).scalar_one()
    with session_factory(engine).begin() as s:  # the channel finishes the message and the reply goes out
        s.execute(update(inbox).values(status="done", text=None))
        s.execute(update(OutboxItem).values(status=SENT))
    clock.advance(minutes=1)
    process_deletions(engine, tracker, KEY, clock)
    clock.advance(minutes=1)
    assert process_deletions(engine, tracker, KEY, clock) == 1
    assert strings_naming(engine, HER_ID, hotline) == []


def test_a_case_still_in_the_spool_holds_the_conversation(engine, tracker, tmp_path: Path) -> None:
    spool = tmp_path / "cases.jsonl"
    spool.write_text(json.dumps({"sender_id": SENDER, "message": SECRET}, ensure_ascii=False) + "\n{torn",
                     encoding="utf-8")
    add_events(tracker, SENDER, T0 - timedelta(hours=1))
    clock = request(engine)
    clock.advance(seconds=4)
    process_deletions(engine, tracker, KEY, clock, spool=spool)
    assert the_request(engine).kept == "spooled" and len(events_of(tracker, SENDER)) == 1
    assert SECRET in spool.read_text(encoding="utf-8")  # the case must still reach a counselor


def test_the_anonymous_token_is_stable_keyed_and_does_not_contain_the_id() -> None:
    token = anonymous_token(KEY, SENDER)
    assert token == anonymous_token(KEY, SENDER) != anonymous_token(b"other key", SENDER)
    assert SENDER not in token and token.startswith("anon:")
    assert anonymous_token(KEY, token) == token
