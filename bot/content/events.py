"""The events calendar: what is coming up in a province."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from bot.content.provinces import Provinces


@dataclass(frozen=True)
class Event:
    """One campaign event."""

    title: str
    province: str
    district: str | None
    day: date
    time: str | None
    place: str | None
    source: str

    def line(self) -> str:
        """One reply line describing the event."""
        when = f"{self.time + ' ' if self.time else ''}ngày {self.day.day:02d}/{self.day.month:02d}/{self.day.year}"
        where = self.place or self.district or self.province
        return f"• {self.title} — {when}, tại {where} ({self.province})"


class Events:
    """Events loaded from content/events.yml."""

    def __init__(self, entries: list[dict]) -> None:
        self.items = [Event(e["title"], e["province"], e.get("district"), e["date"], e.get("time"),
                            e.get("place"), e["source"]) for e in entries]

    @classmethod
    def load(cls, path: Path) -> Events:
        """Read content/events.yml."""
        return cls((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("events") or [])

    def in_province(self, current: str | None, provinces: Provinces) -> list[Event]:
        """Events in a current province, including those filed under a former province name."""
        if current is None:
            return list(self.items)
        return [e for e in self.items if provinces.current_of(e.province) == current]

    def upcoming(self, current: str | None, provinces: Provinces, today: date) -> list[Event]:
        """Events on or after today, soonest first."""
        return sorted((e for e in self.in_province(current, provinces) if e.day >= today), key=lambda e: e.day)

    def latest_past(self, current: str | None, provinces: Provinces, today: date) -> Event | None:
        """The most recent past event, for context when nothing is upcoming."""
        past = [e for e in self.in_province(current, provinces) if e.day < today]
        return max(past, key=lambda e: e.day) if past else None
