"""Clocks: the real one, and a controllable one for tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

# datetime.UTC needs Python 3.11; this is the same zone.
UTC = timezone(timedelta(0), "UTC")


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


def aware(value: datetime | None) -> datetime | None:
    """Treat a naive datetime (SQLite) as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
