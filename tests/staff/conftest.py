"""Fixtures for the staff tools: a private copy of the repository's content and training data."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers used here."""
    config.addinivalue_line("markers", "slow: takes more than a few seconds (real Rasa server or training)")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A temporary repository root with copies of content/, data/, domain/, config.yml and the held-out set."""
    root = tmp_path / "repo"
    for name in ("content", "data", "domain"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy2(ROOT / "config.yml", root / "config.yml")
    (root / "tests" / "eval").mkdir(parents=True)
    shutil.copy2(ROOT / "tests" / "eval" / "heldout.yml", root / "tests" / "eval" / "heldout.yml")
    return root


@pytest.fixture
def day() -> date:
    """The date the content was last reviewed (every `checked` in content/ is this day)."""
    return date(2026, 11, 22)

