"""var/ is 0700 and the databases and spool are 0600 (they hold case text, password hashes, platform tokens);
the tracker SQLite file is in WAL mode with a busy timeout (issue 11, Lows)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

import bot.config
from bot.db.engine import make_engine
from scripts.serve_rasa import prepare_tracker_store

ROOT = Path(__file__).resolve().parents[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Start from a permissive umask (as a shell often has) and restore the test runner's afterwards."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_project_database_is_private_from_creation(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "var" / "app.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('chồng tôi')"))
        wal = db.with_name("app.db-wal")
        assert wal.exists() and mode(wal) == 0o600  # SQLite gives the journal files the database's mode
    assert mode(db.parent) == 0o700 and mode(db) == 0o600


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "app.db"
    db.touch(mode=0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert mode(db) == 0o600


def test_an_entry_point_makes_var_private_and_new_files_owner_only(tmp_path: Path, open_umask: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    monkeypatch.setattr(bot.config, "VAR_DIR", var)
    bot.config.private_process()
    (var / "spool").mkdir()
    (var / "spool" / "cases.jsonl").write_text("{}\n")
    assert mode(var) == 0o700 and mode(var / "spool") == 0o700 and mode(var / "spool" / "cases.jsonl") == 0o600


def test_the_tracker_store_is_private_and_in_wal_mode_before_rasa_opens_it(tmp_path: Path, open_umask: None) -> None:
    path = prepare_tracker_store(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert path is not None and mode(path) == 0o600
    with sqlite3.connect(path) as conn:  # a fresh connection: WAL is a property of the file
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert prepare_tracker_store("postgresql://u@h/db") is None


def test_rasa_waits_for_a_locked_tracker_instead_of_failing() -> None:
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    assert float(endpoints["tracker_store"]["query"]["timeout"]) >= 10
