"""Fixtures of the channel tests: the fake platform servers of the sending tests, the e2e marker."""

from __future__ import annotations

import pytest

from tests.sending.conftest import graph, http, telegram, zalo

__all__ = ["graph", "http", "telegram", "zalo"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers the channel tests use."""
    config.addinivalue_line("markers", "e2e: needs the real trained model (models/current.tar.gz)")
