"""Shared fixtures: a temporary SQLite database and the real content files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.cases.store import CaseStore
from bot.config import CONTENT_DIR
from bot.content.library import Library
from bot.db.engine import make_engine
from bot.db.schema import init_db

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine(tmp_path: Path):
    """A fresh project database in a temporary SQLite file."""
    eng = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def store(engine) -> CaseStore:
    """A case store over the temporary database."""
    return CaseStore(engine)


@pytest.fixture(scope="session")
def library() -> Library:
    """The content as staff keep it in content/."""
    return Library.load(CONTENT_DIR)


@pytest.fixture
def today() -> date:
    """A fixed date inside the 2026 Action Month."""
    return date(2026, 11, 22)
