"""The hotline directory: emergency numbers and counseling lines by province."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content.provinces import Provinces


@dataclass(frozen=True)
class Hotline:
    """One number in the directory."""

    number: str
    organisation: str
    hours: str
    source: str
    province: str | None = None
    default: bool = False

    def line(self) -> str:
        """One reply line: number, organisation, hours."""
        hours = f" ({self.hours})" if self.hours and not self.hours.startswith("chưa có") else ""
        return f"• {self.number} – {self.organisation}{hours}"


class Hotlines:
    """Emergency and counseling numbers loaded from content/hotlines.yml."""

    def __init__(self, data: dict) -> None:
        self.emergency = [Hotline(str(h["number"]), h["organisation"], h.get("hours", ""), h["source"])
                          for h in data["emergency"]]
        self.counseling = [Hotline(str(h["number"]), h["organisation"], h.get("hours", ""), h["source"],
                                   h.get("province"), bool(h.get("default"))) for h in data.get("counseling") or []]

    @classmethod
    def load(cls, path: Path) -> Hotlines:
        """Read content/hotlines.yml."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def all_numbers(self) -> set[str]:
        """Every number in the directory (digits only)."""
        return {h.number for h in [*self.emergency, *self.counseling]}

    def counseling_for(self, current: str | None, provinces: Provinces) -> tuple[Hotline | None, bool]:
        """The counseling line for a province; (line, is_local). Falls back to the default line."""
        if current:
            for h in self.counseling:
                if h.province and provinces.current_of(h.province) == current:
                    return h, True
        default = next((h for h in self.counseling if h.default), None)
        return default or (self.counseling[0] if self.counseling else None), False

    def emergency_lines(self) -> str:
        """The emergency numbers, one per line."""
        return "\n".join(h.line() for h in self.emergency)
