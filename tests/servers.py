"""Real PostgreSQL and Redis servers for tests (scripts/local_servers.py), in a temporary directory, stopped afterwards.

Debian's packages (`postgresql`, `redis-server`; `.ci/run` installs them). Where they are missing the tests
that need them are skipped, except under CI=true, where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from scripts.local_servers import Postgres, Redis


def missing(what: str) -> None:
    """Skip (fail under CI) when a server binary is not installed."""
    message = f"{what} is not installed (Debian package; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def throwaway(server_class: type, prefix: str, begin: str) -> Iterator[Any]:
    """A server in its own temporary directory, begun with method `begin`, stopped and removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    server = server_class(home, missing=missing)
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
