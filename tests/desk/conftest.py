"""Shared fixtures of the desk tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers the desk tests use."""
    config.addinivalue_line("markers", "e2e: needs the real trained model (models/current.tar.gz)")
