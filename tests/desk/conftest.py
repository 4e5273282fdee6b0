"""Fixtures of the desk tests: a database, the fake Telegram, and a desk running in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine

from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.desk.accounts import create_account
from tests.desk.helpers import COUNSELORS, PASSWORD, Desk, manual_clock, start_desk
from tests.fakes.telegram_api import FakeTelegram


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers the desk tests use."""
    config.addinivalue_line("markers", "e2e: needs the real trained model (models/current.tar.gz)")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A fresh project database (SQLite file, WAL) with every table."""
    eng = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    init_db(eng)
    return eng


@pytest_asyncio.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API, with two counselors and an outsider."""
    fake = FakeTelegram(token="777:DESK-TEST")
    await fake.start()
    fake.set_member(COUNSELORS, 11)
    fake.set_member(COUNSELORS, 12)
    fake.set_member(COUNSELORS, 13, "administrator")
    fake.set_member(COUNSELORS, 99, "left")
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def desk(engine: Engine, tg: FakeTelegram) -> AsyncIterator[Desk]:
    """A running desk with Telegram (polling the fake)."""
    running = await start_desk(engine, tg)
    yield running
    await running.stop()


@pytest_asyncio.fixture
async def clocked_desk(engine: Engine, tg: FakeTelegram) -> AsyncIterator[Desk]:
    """A running desk whose clock only moves when the test says so."""
    running = await start_desk(engine, tg, clock=manual_clock())
    yield running
    await running.stop()


@pytest.fixture
def counselor(engine: Engine) -> str:
    """A counselor account (username) with PASSWORD, linked to Telegram user 11."""
    create_account(engine, "lan", PASSWORD, "counselor", "Chị Lan", telegram_user_id=11)
    return "lan"

