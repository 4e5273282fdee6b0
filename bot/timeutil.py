"""Time helpers: UTC, Vietnam time, and clocks; every stored time is UTC and aware after `aware()`."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol

# datetime.UTC needs Python 3.11; this is the same zone.
UTC = timezone(timedelta(0), "UTC")
VN_TZ = timezone(timedelta(hours=7), "ICT")  # Vietnam has no daylight saving time


def utcnow() -> datetime:
    """Timezone-aware current UTC time."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """Treat a naive datetime (SQLite returns them) as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def today_vn() -> date:
    """Today's date in Vietnam."""
    return datetime.now(VN_TZ).date()


def vn_time(value: datetime | None, with_date: bool = True) -> str:
    """`14:05 22/11/2026` in Vietnam time (a dash for None)."""
    if value is None:
        return "—"
    local = aware(value).astimezone(VN_TZ)
    return local.strftime("%H:%M %d/%m/%Y" if with_date else "%H:%M")


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime:
        """Timezone-aware current UTC time."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Timezone-aware current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        """Start at `start` (default: the real current time)."""
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keywords (minutes=5…); returns the new time."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to a given time."""
        self._now = when
