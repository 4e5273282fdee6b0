"""Real PostgreSQL and Redis servers for tests, on loopback, in a temporary directory, stopped afterwards.

Debian's packages (`postgresql`, `redis-server`; `.ci/run` installs them). Where they are missing the tests
that need them are skipped, except under CI=true, where a missing server is a failure. PostgreSQL refuses to
run as root, so as root the cluster belongs to the `postgres` user. Durability settings are relaxed (fsync
off): the tests kill and restart servers to check the project, not PostgreSQL's crash safety.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.bench_stacks import free_port


def missing(what: str) -> None:
    """Skip (fail under CI) when a server binary is not installed."""
    message = f"{what} is not installed (Debian package; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def wait_port(port: int, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    """Until something accepts on 127.0.0.1:port; fail with the log if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def pg_bin(name: str) -> str | None:
    """A PostgreSQL server binary (Debian keeps them under /usr/lib/postgresql/<version>/bin)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


@dataclass
class Postgres:
    """One throw-away PostgreSQL cluster; `url` points at its database `app` as superuser `bot`."""

    home: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database."""
        return f"postgresql://bot@127.0.0.1:{self.port}/app"

    def _as_owner(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def init(self) -> None:
        """initdb, start, create the database."""
        initdb = pg_bin("initdb")
        if initdb is None or pg_bin("postgres") is None:
            missing("PostgreSQL (postgresql)")
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        subprocess.run(self._as_owner([initdb, "-D", str(self.home / "data"), "-U", "bot", "--auth=trust",
                                       "-E", "UTF8", "--no-locale"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.start()
        import sqlalchemy

        engine = sqlalchemy.create_engine(f"postgresql://bot@127.0.0.1:{self.port}/postgres",
                                          isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("CREATE DATABASE app"))
        engine.dispose()

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its SQLAlchemy URL."""
        import sqlalchemy

        admin = sqlalchemy.create_engine(self.url, isolation_level="AUTOCOMMIT", hide_parameters=True)
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
        admin.dispose()
        return f"postgresql://bot@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        """Start the server on its port (again after `stop` or `kill`)."""
        log = self.home / "postgres.log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                self._as_owner([pg_bin("postgres"), "-D", str(self.home / "data"), "-h", "127.0.0.1",
                                "-p", str(self.port), "-k", str(self.home), "-c", "fsync=off",
                                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                                "-c", "max_connections=200"]),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, 60, self.proc, log)
        deadline = time.monotonic() + 30
        import sqlalchemy

        while True:  # the port opens before the database accepts sessions
            try:
                engine = sqlalchemy.create_engine(f"postgresql://bot@127.0.0.1:{self.port}/postgres")
                with engine.connect():
                    pass
                engine.dispose()
                return
            except sqlalchemy.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self, sig: int = signal.SIGINT) -> None:
        """Stop the server: SIGINT is PostgreSQL's fast shutdown, SIGKILL a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class Redis:
    """One throw-away Redis on loopback, nothing persisted."""

    home: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start redis-server."""
        binary = shutil.which("redis-server")
        if binary is None:
            missing("Redis (redis-server)")
        log = self.home / "redis.log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                          "--appendonly", "no", "--dir", str(self.home)],
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, 30, self.proc, log)

    def stop(self) -> None:
        """Stop it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None


@contextmanager
def throwaway(server_class: type, prefix: str, begin: str) -> Iterator[Any]:
    """A server in its own temporary directory, begun with method `begin`, stopped and removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    server = server_class(home)
    try:
        getattr(server, begin)()
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session (tests make their own databases on it)."""
    with throwaway(Postgres, "test-pg-", "init") as server:
        yield server


@pytest.fixture(scope="session")
def redis_server():
    """A Redis server for the session."""
    with throwaway(Redis, "test-redis-", "start") as server:
        yield server
