"""init_db upgrades a database made by an older version: missing columns are added, rows are kept."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from bot.db.schema import init_db


def test_missing_nullable_column_is_added_and_rows_survive(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}", future=True)
    with engine.begin() as conn:  # deletion_requests as an older version made it, without done_at
        conn.exec_driver_sql("CREATE TABLE deletion_requests (id INTEGER PRIMARY KEY, sender_id VARCHAR(200) "
                             "NOT NULL, requested_at DATETIME NOT NULL)")
        conn.exec_driver_sql("INSERT INTO deletion_requests (sender_id, requested_at) "
                             "VALUES ('rest:a', '2026-11-20 10:00:00')")
    init_db(engine)
    init_db(engine)  # idempotent
    assert "done_at" in {c["name"] for c in inspect(engine).get_columns("deletion_requests")}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sender_id, done_at FROM deletion_requests")).all()
    assert rows == [("rest:a", None)]


def test_missing_index_is_added(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}", future=True)
    init_db(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_outbox_lane_heads")
    init_db(engine)
    assert "ix_outbox_lane_heads" in {i["name"] for i in inspect(engine).get_indexes("outbox")}
