"""Local PostgreSQL and Redis servers on loopback, from Debian's packages, for the tests, the benchmark and `make run-scaled`.

PostgreSQL refuses to run as root, so as root a cluster belongs to the `postgres` user (its directory must be
one that user can enter). Durability settings are relaxed (fsync off): these servers are for trying the
scaled layout and for tests that kill and restart servers, not for keeping data safe.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy
import sqlalchemy.exc


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def not_installed(what: str) -> None:
    """The default for a missing server binary: stop with a message that names the package."""
    raise RuntimeError(f"{what} is not installed (Debian package; .ci/run installs it)")


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
    missing: Callable[[str], None] = field(default=not_installed, repr=False)

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
            self.missing("PostgreSQL (postgresql)")
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        subprocess.run(self._as_owner([initdb, "-D", str(self.home / "data"), "-U", "bot", "--auth=trust",
                                       "-E", "UTF8", "--no-locale"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.start()
        engine = sqlalchemy.create_engine(f"postgresql://bot@127.0.0.1:{self.port}/postgres",
                                          isolation_level="AUTOCOMMIT", hide_parameters=True)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("CREATE DATABASE app"))
        engine.dispose()

    def ensure(self, databases: tuple[str, ...] = ()) -> None:
        """Start the cluster in `home` (created on first use), with `app` and each of `databases`."""
        if not (self.home / "data" / "PG_VERSION").exists():
            self.init()
        else:
            self.start()
        admin = sqlalchemy.create_engine(self.url, isolation_level="AUTOCOMMIT", hide_parameters=True)
        with admin.connect() as conn:
            have = set(conn.execute(sqlalchemy.text("SELECT datname FROM pg_database")).scalars())
        admin.dispose()
        for name in databases:
            if name not in have:
                self.create_database(name)

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its SQLAlchemy URL."""
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
        while True:  # the port opens before the database accepts sessions
            try:
                engine = sqlalchemy.create_engine(f"postgresql://bot@127.0.0.1:{self.port}/postgres",
                                                  hide_parameters=True)
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
    missing: Callable[[str], None] = field(default=not_installed, repr=False)

    def start(self) -> None:
        """Start redis-server."""
        binary = shutil.which("redis-server")
        if binary is None:
            self.missing("Redis (redis-server)")
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


def scaled_settings(pg: Postgres, tracker_db: str, redis_port: int, app_db: str = "app") -> dict[str, str]:
    """The settings that select the scaled layout (docs/deploy.md): both databases on `pg`, the lock store on Redis."""
    base = pg.url.rsplit("/", 1)[0]
    return {"DATABASE_URL": f"{base}/{app_db}", "TRACKER_DATABASE_URL": f"{base}/{tracker_db}",
            "RASA_ENDPOINTS": "endpoints-scaled.yml", "TRACKER_DB_HOST": "127.0.0.1", "TRACKER_DB_PORT": str(pg.port),
            "TRACKER_DB_NAME": tracker_db, "TRACKER_DB_USER": "bot", "TRACKER_DB_PASSWORD": "",
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_port)}
