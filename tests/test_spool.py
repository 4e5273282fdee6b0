"""The spool: nothing spooled is stranded, imported twice, blocked by a torn line, or kept after "forget me"."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.cases import spool as spool_mod
from bot.cases.spool import drain_spool, spool_case
from bot.cases.store import CaseRequest, CaseStore
from bot.db.schema import init_db


def _req(sender: str = "zalo:42", message_id: str | None = None, text_: str = "cứu tôi") -> CaseRequest:
    return CaseRequest(channel=sender.split(":")[0], sender_id=sender, urgency="danger_now", message=text_,
                       reasons=("kêu cứu",), province=None, message_id=message_id)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the spool lives in this test."""
    return tmp_path / "spool" / "cases.jsonl"


def _lines(p: Path) -> list[dict]:
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- waits --------------------------------------------------------------------------------------------------

def test_waits_sees_a_senders_case_in_the_live_or_draining_file_only(path: Path) -> None:
    assert not spool_mod.waits("zalo:1", path)  # no spool at all
    spool_case(_req("zalo:12"), path)
    assert not spool_mod.waits("zalo:1", path)  # "zalo:12" is someone else
    path.rename(path.with_suffix(".draining"))
    spool_case(_req("zalo:2"), path)
    path.with_suffix(".bad").write_text('{"sender_id": "zalo:1", "message": "cứu\n', encoding="utf-8")
    assert not spool_mod.waits("zalo:1", path)  # a set-aside line waits for a person, not for the drain
    spool_case(_req("zalo:1"), path.with_suffix(".draining"))
    assert spool_mod.waits("zalo:1", path)
    path.with_suffix(".draining").write_text('{"sender_id": "zalo:1", "mess', encoding="utf-8")
    assert spool_mod.waits("zalo:1", path)  # a torn line that names her is hers


# --- drain_spool -------------------------------------------------------------------------------------------

@pytest.fixture
def db(tmp_path: Path):
    """A project database with a short busy timeout, so a lock held elsewhere fails fast."""
    eng = create_engine(f"sqlite:///{tmp_path / 'app.db'}", future=True, connect_args={"timeout": 0.2})
    init_db(eng)
    yield eng
    eng.dispose()


class _Lock:
    """Hold an exclusive SQLite lock on the database from another connection (as another process would)."""

    def __init__(self, db_path: Path) -> None:
        self.conn = sqlite3.connect(db_path, isolation_level=None)

    def take(self) -> None:
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")


def _count_cases(engine) -> int:
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM cases")).scalar_one()


def test_a_drain_stopped_by_a_locked_database_is_finished_by_the_next(db, path: Path, tmp_path: Path) -> None:
    for i in range(3):
        spool_case(_req(f"zalo:{i}"), path)
    lock = _Lock(tmp_path / "app.db")
    lock.take()
    with pytest.raises(OperationalError):
        drain_spool(CaseStore(db), path)
    lock.release()
    assert _count_cases(db) == 0
    # No new case arrives: the leftover draining file must still be imported.
    assert drain_spool(CaseStore(db), path) == 3
    assert _count_cases(db) == 3
    assert not path.exists() and not path.with_suffix(".draining").exists()


def test_a_drain_locked_out_midway_keeps_the_rest_and_resumes(db, path: Path, tmp_path: Path) -> None:
    for i in range(3):
        spool_case(_req(f"zalo:{i}", message_id=f"m{i}"), path)
    lock = _Lock(tmp_path / "app.db")

    class LockedAfterOne(CaseStore):
        calls = 0

        def open_case(self, req):
            LockedAfterOne.calls += 1
            if LockedAfterOne.calls == 2:
                lock.take()
            return super().open_case(req)

    with pytest.raises(OperationalError):
        drain_spool(LockedAfterOne(db), path)
    lock.release()
    assert _count_cases(db) == 1
    spool_case(_req("zalo:later", message_id="m-later"), path)  # arrives while the draining file waits
    assert drain_spool(CaseStore(db), path) == 3
    store = CaseStore(db)
    assert sorted(c.message_id for c in store.list_cases()) == ["m-later", "m0", "m1", "m2"]
    assert not path.exists() and not path.with_suffix(".draining").exists()


def test_a_torn_line_is_set_aside_and_does_not_block_later_cases(db, path: Path, caplog) -> None:
    spool_case(_req("zalo:1", text_="trước"), path)
    with path.open("ab") as f:  # a writer died in the middle of a line
        f.write('{"channel": "zalo", "sender_id": "zalo:torn", "message": "nó đánh'.encode())
    spool_case(_req("zalo:2", text_="sau"), path)
    with caplog.at_level(logging.CRITICAL):
        assert drain_spool(CaseStore(db), path) == 2
    assert sorted(c.message for c in CaseStore(db).list_cases()) == ["sau", "trước"]
    bad = path.with_suffix(".bad")
    assert "zalo:torn" in bad.read_text(encoding="utf-8")
    assert stat.S_IMODE(bad.stat().st_mode) == 0o600
    alarms = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert alarms and all("nó đánh" not in r.getMessage() and "zalo:torn" not in r.getMessage() for r in alarms)
    assert not path.exists() and not path.with_suffix(".draining").exists()


def test_a_line_imported_twice_gives_one_case_and_one_message(db, path: Path) -> None:
    store = CaseStore(db)
    spool_case(_req("zalo:1", text_="lần đầu"), path)  # no channel message id
    saved = path.read_bytes()
    assert drain_spool(store, path) == 1
    [case] = store.list_cases()
    with store.Session.begin() as s:  # a counselor resolved it before the copy came back
        s.execute(text("UPDATE cases SET status = 'resolved'"))
    path.with_suffix(".draining").write_bytes(saved)  # the drain died after importing, before removing its file
    spool_case(_req("zalo:other"), path)
    drain_spool(store, path)
    assert len(store.list_cases(sender_id="zalo:1")) == 1

    # A spooled message that joined an open case is not added twice either.
    open_case, _ = store.open_case(_req("zalo:7", message_id="first"))
    spool_case(_req("zalo:7", text_="thêm"), path)
    saved = path.read_bytes()
    drain_spool(store, path)
    path.with_suffix(".draining").write_bytes(saved)
    spool_case(_req("zalo:another"), path)
    drain_spool(store, path)
    messages = [e for e in store.events(open_case.id) if e.kind == "resident_message"]
    assert [e.detail for e in messages] == ["thêm"]


def test_an_append_after_a_torn_tail_starts_a_new_line(path: Path) -> None:
    spool_case(_req("zalo:1"), path)
    with path.open("ab") as f:
        f.write(b'{"channel": "za')
    spool_case(_req("zalo:2"), path)
    last = path.read_text(encoding="utf-8").splitlines()[-1]
    assert json.loads(last)["sender_id"] == "zalo:2"


def test_spool_state_fails_while_a_case_waits(db, path: Path) -> None:
    state = spool_mod.spool_state
    assert state(path) == "ok"
    spool_case(_req("zalo:1"), path)
    assert state(path) == "failing"
    path.rename(path.with_suffix(".draining"))
    assert state(path) == "failing"
    drain_spool(CaseStore(db), path)
    assert state(path) == "ok"
    path.with_suffix(".bad").write_bytes(b"garbage\n")
    assert state(path) == "failing"
    assert os.stat(path.parent).st_mode & 0o077 == 0


def test_no_case_is_lost_while_appends_race_with_drains(db, path: Path) -> None:
    store = CaseStore(db)
    total = 150

    def append() -> None:
        for i in range(total):
            spool_case(_req(f"zalo:r{i}", message_id=f"r{i}"), path)

    t = threading.Thread(target=append)
    t.start()
    while t.is_alive():
        drain_spool(store, path)
    t.join()
    drain_spool(store, path)
    assert len(store.list_cases()) == total
    assert spool_mod.spool_state(path) == "ok"


def test_a_drain_does_not_rename_the_file_under_an_append_in_progress(db, path: Path, monkeypatch) -> None:
    store = CaseStore(db)
    real_write = os.write
    writing = threading.Event()

    def slow_write(fd: int, data) -> int:
        if threading.current_thread().name == "appender":
            writing.set()
            threading.Event().wait(0.3)  # the appender has opened the file and is about to write
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", slow_write)
    t = threading.Thread(target=spool_case, args=(_req("zalo:mid", message_id="mid"), path), name="appender")
    t.start()
    assert writing.wait(5)
    drain_spool(store, path)
    t.join(5)
    drain_spool(store, path)
    assert [c.message_id for c in store.list_cases()] == ["mid"]
