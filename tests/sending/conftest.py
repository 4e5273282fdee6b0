"""Fixtures of the sending tests: the fake platform servers and an HTTP session (the channel tests reuse them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.fakes.graph_api import FakeGraph
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.sending.helpers import TG_TOKEN, ZALO_APP_ID, ZALO_APP_SECRET


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    """A fake Zalo OA + OAuth server."""
    async with FakeZalo(app_id=ZALO_APP_ID, app_secret=ZALO_APP_SECRET) as fake:
        yield fake


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    """A fake Graph API (Messenger Send API)."""
    async with FakeGraph() as fake:
        yield fake


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """The shared fake Telegram Bot API, for the residents' bot."""
    async with FakeTelegram(token=TG_TOKEN, username="resident_test_bot") as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session for the senders (and for posting webhooks)."""
    async with aiohttp.ClientSession() as session:
        yield session
