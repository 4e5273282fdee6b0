"""Fixtures of the broadcast tests: the fake platforms (the sending tests' own), staff accounts, an HTTP session."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.outreach.helpers import make_staff
from tests.sending.conftest import graph, http, telegram, zalo

__all__ = ["graph", "http", "telegram", "zalo"]


@pytest.fixture
def staffed(engine: Engine) -> Engine:
    """The test database with two staff accounts (an, binh), a supervisor (chi) and a counselor (dung)."""
    make_staff(engine)
    return engine
