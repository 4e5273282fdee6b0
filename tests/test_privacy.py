"""Deleting a resident's conversation from Rasa's tracker store after the grace period."""

from datetime import timedelta

from sqlalchemy import create_engine, text

from bot.privacy import process_deletions, request_deletion


def _tracker(tmp_path):
    eng = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)"))
        conn.execute(text("INSERT INTO events (sender_id, data) VALUES ('zalo:1', 'a'), ('zalo:1', 'b'), "
                          "('zalo:2', 'c')"))
    return eng


def _left(eng, sender):
    with eng.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar()


def test_request_waits_for_the_grace_period_then_deletes_only_that_sender(engine, tmp_path) -> None:
    tracker = _tracker(tmp_path)
    request_deletion(engine, "zalo:1")
    assert process_deletions(engine, tracker, grace=timedelta(hours=1)) == 0
    assert _left(tracker, "zalo:1") == 2
    assert process_deletions(engine, tracker, grace=timedelta(0)) == 1
    assert _left(tracker, "zalo:1") == 0 and _left(tracker, "zalo:2") == 1
    assert process_deletions(engine, tracker, grace=timedelta(0)) == 0
