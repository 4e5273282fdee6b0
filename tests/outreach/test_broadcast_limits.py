"""Platform limits as configurable defaults: rates and windows from the environment, quiet hours in Vietnam time."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from bot.desk.settings import settings_from_env
from bot.outreach.delivery import RateGate, certainly_not_sent
from bot.outreach.limits import RATE_PER_SECOND, SendLimits, parse_quiet_hours, quiet_until, window_open
from bot.timeutil import UTC, VN_TZ


def vn(hour: int, minute: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=VN_TZ).astimezone(UTC)


def test_quiet_hours_across_midnight_end_at_the_next_morning() -> None:
    assert quiet_until("21:00-07:00", vn(20, 59)) is None
    assert quiet_until("21:00-07:00", vn(21, 0)) == vn(7, 0, day=26)
    assert quiet_until("21:00-07:00", vn(3, 30)) == vn(7, 0)
    assert quiet_until("21:00-07:00", vn(7, 0)) is None
    assert quiet_until("12:00-13:30", vn(12, 15)) == vn(13, 30)
    assert quiet_until("off", vn(23, 0)) is None
    for bad in ("21-07", "25:00-07:00", "21:00-21:00", "", "21:00 07:00"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


def test_windows_and_rates_come_from_the_environment() -> None:
    limits = SendLimits.from_env({"BROADCAST_RATE_ZALO": "3", "BROADCAST_RATE_TELEGRAM": "nope",
                                  "BROADCAST_WINDOW_ZALO_HOURS": "168", "BROADCAST_WINDOW_MESSENGER_HOURS": "none"})
    assert limits.rates == {**RATE_PER_SECOND, "zalo": 3.0}
    assert limits.windows == {"messenger": None, "zalo": 168.0, "telegram": None}
    defaults = SendLimits.from_env({})
    assert defaults.windows == {"messenger": 24.0, "zalo": 48.0, "telegram": None}
    now = vn(10)
    assert window_open("messenger", now - timedelta(hours=23), now, 24.0)
    assert not window_open("messenger", now - timedelta(hours=25), now, 24.0)
    assert not window_open("zalo", None, now, 48.0)
    assert window_open("telegram", None, now, None)


def test_desk_settings_read_the_broadcast_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_SESSION_SECRET", "s" * 32)
    monkeypatch.setenv("BROADCAST_RATE_MESSENGER", "5")
    monkeypatch.setenv("BROADCAST_REMINDERS_AUTO", "1")
    monkeypatch.setenv("BROADCAST_SCHEDULER_INTERVAL", "0.5")
    settings = settings_from_env()
    assert settings.broadcast_limits.rates["messenger"] == 5.0
    assert settings.broadcast_reminders_auto is True and settings.broadcast_interval == 0.5


def test_only_refusals_that_prove_nothing_was_sent_are_retried() -> None:
    for reason in ("telegram:429", "http 429", "zalo:-32", "messenger:613", "http 503", "ClientConnectorError"):
        assert certainly_not_sent(reason), reason
    for reason in ("telegram:TimedOut", "TimeoutError", "ServerDisconnectedError", "telegram:timeout"):
        assert not certainly_not_sent(reason), reason


async def test_rate_gate_spaces_sends_evenly() -> None:
    gate = RateGate(20.0)
    started = time.monotonic()
    stamps = []
    for _ in range(11):
        await gate.acquire()
        stamps.append(time.monotonic() - started)
    assert stamps[-1] >= 0.45  # 10 intervals of 1/20 s, allowing for timer slack
    assert all(b - a >= 0.04 for a, b in zip(stamps[1:], stamps[2:]))
