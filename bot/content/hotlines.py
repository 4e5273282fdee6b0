"""The hotline directory: emergency numbers, national counseling lines and provinces' own lines.

Guarantees: `counseling_for` gives a province's own line only to residents of that province (matched through the
province index, so a former province's line reaches the merged province, named as the former one's), and gives
everyone the national lines, the default first; it never presents one province's line as another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content.provinces import ProvinceMatch, Provinces
from bot.text import fold

NATIONAL, PROVINCE = "national", "province"
SCOPES = (NATIONAL, PROVINCE)


@dataclass(frozen=True)
class Hotline:
    """One number in the directory."""

    number: str
    organisation: str
    hours: str
    source: str
    province: str | None = None
    default: bool = False
    scope: str = NATIONAL

    def line(self) -> str:
        """One reply line: number, organisation, hours."""
        hours = f" ({self.hours})" if self.known_hours() else ""
        return f"• {self.number} – {self.organisation}{hours}"

    def known_hours(self) -> bool:
        """True when the directory says when the line answers."""
        return bool(self.hours) and not self.hours.startswith("chưa có")


@dataclass(frozen=True)
class CounselingLines:
    """The counseling lines one resident is given."""

    own: tuple[Hotline, ...]       # lines of the resident's (current) province
    national: tuple[Hotline, ...]  # national lines, the default first
    named_own: bool = False        # the own lines are of the very province the resident named


def _scope(entry: dict) -> str:
    scope = entry.get("scope")
    if scope in SCOPES:
        return scope
    return PROVINCE if entry.get("province") else NATIONAL


class Hotlines:
    """Emergency and counseling numbers loaded from content/hotlines.yml."""

    def __init__(self, data: dict) -> None:
        self.emergency = [Hotline(str(h["number"]), h["organisation"], h.get("hours", ""), h["source"])
                          for h in data["emergency"]]
        self.counseling = [Hotline(str(h["number"]), h["organisation"], h.get("hours", ""), h["source"],
                                   h.get("province"), bool(h.get("default")), _scope(h))
                           for h in data.get("counseling") or []]

    @classmethod
    def load(cls, path: Path) -> Hotlines:
        """Read content/hotlines.yml."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def all_numbers(self) -> set[str]:
        """Every number in the directory (digits only)."""
        return {h.number for h in [*self.emergency, *self.counseling]}

    def national(self) -> tuple[Hotline, ...]:
        """The national counseling lines, the default first."""
        lines = [h for h in self.counseling if h.scope == NATIONAL]
        return tuple(sorted(lines, key=lambda h: not h.default))

    def counseling_for(self, province: ProvinceMatch | None, provinces: Provinces) -> CounselingLines:
        """The province's own lines (if the resident named a province that has some) and the national lines."""
        own: list[Hotline] = []
        if province is not None:
            own = [h for h in self.counseling if h.scope == PROVINCE and h.province
                   and provinces.current_of(h.province) == province.current]
        named = bool(own) and province is not None and all(fold(h.province or "") == fold(province.named)
                                                          for h in own)
        return CounselingLines(tuple(own), self.national(), named)

    def emergency_lines(self) -> str:
        """The emergency numbers, one per line."""
        return "\n".join(h.line() for h in self.emergency)
