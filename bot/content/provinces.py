"""Province names (before and after the 2025 merger), recognised with or without diacritics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.text import fold, normalize


@dataclass(frozen=True)
class ProvinceMatch:
    """A province named in a message: the current province and the name the resident used."""

    current: str
    named: str

    def label(self) -> str:
        """How to write the province in a reply, e.g. "Kon Tum (nay thuộc tỉnh Quảng Ngãi)"."""
        if fold(self.named) == fold(self.current):
            return self.current
        return f"{self.named} (nay thuộc {self.current})"


class Provinces:
    """Index of province names and aliases."""

    def __init__(self, entries: list[dict]) -> None:
        self._names: dict[str, tuple[str, str]] = {}
        for entry in entries:
            current = entry["name"]
            for name in [current, *entry.get("former", [])]:
                self._add(name, current, name)
        for entry in entries:
            for alias in entry.get("aliases", []) or []:
                self._add(alias, entry["name"], entry["name"], override=False)
        keys = sorted(self._names, key=len, reverse=True)
        self._pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b")

    def _add(self, name: str, current: str, named: str, override: bool = True) -> None:
        key = normalize(name)
        if override:
            self._names[key] = (current, named)
        else:
            self._names.setdefault(key, (current, named))
        self._names.setdefault(key.replace(" ", ""), (current, named))

    @classmethod
    def load(cls, path: Path) -> Provinces:
        """Read content/provinces.yml."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(data["provinces"])

    def find(self, text: str) -> ProvinceMatch | None:
        """The first province named in the text, if any."""
        match = self._pattern.search(normalize(text))
        if not match:
            return None
        current, named = self._names[match.group(1)]
        return ProvinceMatch(current, named)

    def names(self) -> list[str]:
        """Every current province's name, in the file's order."""
        return list(dict.fromkeys(current for current, _ in self._names.values()))

    def current_of(self, name: str) -> str | None:
        """The current province a (possibly former) province name belongs to."""
        found = self._names.get(normalize(name))
        return found[0] if found else None
