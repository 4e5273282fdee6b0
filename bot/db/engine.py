"""SQLAlchemy engines and sessions for the project database (SQLite by default, PostgreSQL by URL).

Guarantees: an engine never puts bound parameters (resident text, phone numbers, sender ids) into its error
messages (`hide_parameters`); a SQLite database file is created 0600 in a directory created 0700, and is in WAL
mode with a busy timeout, so several processes can share it; a SQLite file keeps a small pool of open
connections (as SQLAlchemy 2 does) instead of opening one per session.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot.config import database_url, private_file

BUSY_TIMEOUT_SECONDS = 15


def make_engine(url: str | None = None) -> Engine:
    """Create an engine; SQLite gets WAL mode and a busy timeout for several processes."""
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            prepare_sqlite_file(Path(path))
        # SQLAlchemy 1.4 gives a file database a NullPool: a new connection and three PRAGMAs per session.
        pool = {} if path in ("", ":memory:") else {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10}
        engine = create_engine(url, future=True, hide_parameters=True, **pool,
                               connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)


def prepare_sqlite_file(path: Path, *, wal: bool = False) -> Path:
    """Create a SQLite file 0600 (its directory 0700 when missing); `wal` sets its persistent WAL mode now."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_file(path)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():
            private_file(extra)
    if wal:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    return path


def session_factory(engine: Engine) -> sessionmaker:
    """A session factory bound to the engine."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)
