"""Fixtures for the tests on real PostgreSQL and Redis: the servers, and a fresh project database per test."""

from __future__ import annotations

import secrets

import pytest

from bot.db.engine import make_engine
from bot.db.schema import init_db
from tests.servers import postgres, redis_server  # noqa: F401  (session fixtures)


@pytest.fixture
def pg_url(postgres) -> str:  # noqa: F811
    """A new, empty database on the session's PostgreSQL server."""
    return postgres.create_database(f"app_{secrets.token_hex(4)}")


@pytest.fixture
def pg_engine(pg_url):
    """The project's schema on that database."""
    engine = make_engine(pg_url)
    init_db(engine)
    yield engine
    engine.dispose()
