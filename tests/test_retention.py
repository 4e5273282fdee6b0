"""The retention period: old resident data goes (closed cases anonymised), recent rows and open cases stay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text

from bot.cases.models import CLAIMED, RESOLVED, Case
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.erasure import ERASED, anonymous_token
from bot.outbox.models import PENDING, SENT, DeliveryFailure, OutboxItem
from bot.retention import privacy_settings_from_env, purge_expired
from bot.review_queue import ReviewItem
from bot.timeutil import ManualClock
from tests.test_privacy import KEY, T0, add_events, events_of, tracker  # noqa: F401  (fixture)

RETENTION = timedelta(days=180)
OLD, RECENT = T0 - timedelta(days=200), T0 - timedelta(days=10)


def _case(s, sender: str, status: str, at) -> int:
    case = Case(channel="zalo", sender_id=sender, urgency="needs_support", status=status, created_at=at,
                updated_at=at, message=f"lời của {sender}", resolved_at=at if status == RESOLVED else None)
    s.add(case)
    s.flush()
    return case.id


def test_old_rows_go_and_recent_or_open_ones_stay(engine, tracker) -> None:  # noqa: F811
    clock = ManualClock(T0)
    inbox = Base.metadata.tables["channel_inbox"]
    with session_factory(engine).begin() as s:
        old_closed = _case(s, "zalo:old", RESOLVED, OLD)
        recent_closed = _case(s, "zalo:recent", RESOLVED, RECENT)
        old_open = _case(s, "zalo:open", CLAIMED, OLD)
        for sender, at in (("zalo:old", OLD), ("zalo:recent", RECENT)):
            s.add(ReviewItem(sender_id=sender, channel="zalo", text="hỏi", norm=sender, created_at=at,
                             last_seen_at=at))
            s.add(DeliveryFailure(at=at, channel="zalo", sender_id=sender, urgent=False, error="x"))
            s.execute(insert(inbox).values(key=f"zalo:{sender}", channel="zalo", sender_id=sender, kind="text",
                                           status="done", received_at=at, expires_at=at))
        for key, status, at, case_id in (("done-old", SENT, OLD, None), ("pending-old", PENDING, OLD, None),
                                         ("done-recent", SENT, RECENT, None), ("open-case", SENT, OLD, old_open)):
            s.add(OutboxItem(dedup_key=key, kind="bot_reply", lane="reply:x", case_id=case_id,
                             payload=json.dumps({"text": "t"}), status=status, created_at=at, next_attempt_at=at))
    add_events(tracker, "zalo:gone", OLD, OLD + timedelta(minutes=1))  # a conversation that ended long ago
    with tracker.begin() as conn:  # an old session, then a current one
        conn.execute(text("INSERT INTO events (sender_id, type_name, timestamp) VALUES "
                          "('zalo:back', 'session_started', :a), ('zalo:back', 'user', :a), "
                          "('zalo:back', 'session_started', :b), ('zalo:back', 'user', :b)"),
                     {"a": OLD.timestamp(), "b": RECENT.timestamp()})
    add_events(tracker, "zalo:open", OLD)  # the transcript of an open case

    purged = purge_expired(engine, tracker, RETENTION, KEY, clock.now())

    with session_factory(engine)() as s:
        cases = {c.id: c for c in s.execute(select(Case)).scalars()}
        assert cases[old_closed].message == ERASED and cases[old_closed].sender_id == anonymous_token(KEY, "zalo:old")
        assert cases[recent_closed].message == "lời của zalo:recent"
        assert cases[old_open].message == "lời của zalo:open" and cases[old_open].sender_id == "zalo:open"
        assert [i.sender_id for i in s.execute(select(ReviewItem)).scalars()] == ["zalo:recent"]
        assert [f.sender_id for f in s.execute(select(DeliveryFailure)).scalars()] == ["zalo:recent"]
        assert sorted(o.dedup_key for o in s.execute(select(OutboxItem)).scalars()) == [
            "done-recent", "open-case", "pending-old"]
        assert [r.sender_id for r in s.execute(select(inbox)).all()] == ["zalo:recent"]
    assert events_of(tracker, "zalo:gone") == []
    assert events_of(tracker, "zalo:back") == [RECENT.timestamp(), RECENT.timestamp()]
    assert events_of(tracker, "zalo:open") == [OLD.timestamp()]
    assert purged["cases"] == 1 and purged["conversations"] == 4
    assert purge_expired(engine, tracker, RETENTION, KEY, clock.now())["cases"] == 0  # idempotent

    clock.advance(days=175)  # the recent rows age past the period on a later run
    purge_expired(engine, tracker, RETENTION, KEY, clock.now())
    with session_factory(engine)() as s:
        assert s.get(Case, recent_closed).message == ERASED
        assert s.execute(select(ReviewItem)).first() is None


def test_the_retention_setting_defaults_to_180_days_and_is_validated(monkeypatch) -> None:
    monkeypatch.delenv("DATA_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("PRIVACY_TOKEN_SECRET", raising=False)
    settings = privacy_settings_from_env("a session secret of some length")
    assert settings.retention == timedelta(days=180)
    assert settings.token_key == privacy_settings_from_env("a session secret of some length").token_key
    monkeypatch.setenv("DATA_RETENTION_DAYS", "30")
    assert privacy_settings_from_env("s" * 16).retention == timedelta(days=30)
    for bad in ("0", "abc"):
        monkeypatch.setenv("DATA_RETENTION_DAYS", bad)
        with pytest.raises(SystemExit):
            privacy_settings_from_env("s" * 16)
