"""Year-aware answers about the campaign's dates and theme."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from bot.text import normalize

_YEAR_RE = re.compile(r"\b(20\d\d)\b")


@dataclass(frozen=True)
class CampaignYear:
    """Facts for one year of the campaign."""

    year: int
    theme: str | None
    start: date
    end: date
    source: str


def asked_year(text: str, today: date) -> int:
    """The year a message asks about: an explicit year, "năm ngoái", "năm sau", else this year."""
    match = _YEAR_RE.search(text)
    if match:
        return int(match.group(1))
    norm = normalize(text)
    if re.search(r"\bnam (?:ngoai|truoc|roi)\b", norm):
        return today.year - 1
    if re.search(r"\bnam (?:sau|toi)\b", norm):
        return today.year + 1
    return today.year


def _fmt(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


class Campaign:
    """The campaign facts loaded from content/campaign.yml."""

    def __init__(self, data: dict) -> None:
        self.name: str = data["name"]
        every = data["every_year"]
        self._start = tuple(int(x) for x in str(every["start"]).split("/"))
        self._end = tuple(int(x) for x in str(every["end"]).split("/"))
        self.standing_source: str = every["source"]
        self.years: dict[int, CampaignYear] = {}
        for year, info in (data.get("years") or {}).items():
            self.years[int(year)] = CampaignYear(int(year), info.get("theme"), info["start"], info["end"],
                                                 info["source"])

    @classmethod
    def load(cls, path: Path) -> Campaign:
        """Read content/campaign.yml."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def period(self, year: int) -> tuple[date, date]:
        """Start and end dates of a year's campaign (from its entry, else the standing period)."""
        if year in self.years:
            return self.years[year].start, self.years[year].end
        return date(year, self._start[1], self._start[0]), date(year, self._end[1], self._end[0])

    def latest_theme(self) -> CampaignYear | None:
        """The most recent year with a theme on file."""
        themed = [y for y in self.years.values() if y.theme]
        return max(themed, key=lambda y: y.year) if themed else None

    def dates_answer(self, year: int, today: date) -> str:
        """Vietnamese answer to "when is the Action Month (this year / in YEAR)?"."""
        start, end = self.period(year)
        if today < start:
            when = f"sẽ diễn ra từ ngày {_fmt(start)} đến ngày {_fmt(end)}"
        elif today <= end:
            when = (f"đang diễn ra: từ ngày {_fmt(start)} đến ngày {_fmt(end)} "
                    f"(hôm nay {_fmt(today)}, còn {(end - today).days} ngày)")
        else:
            when = f"đã diễn ra từ ngày {_fmt(start)} đến ngày {_fmt(end)}"
        text = f"{self.name} năm {year} {when}."
        if year not in self.years:
            text += " Tháng hành động được tổ chức hằng năm từ 15/11 đến 15/12."
        return text

    def theme_answer(self, year: int) -> str:
        """Vietnamese answer to "what is the theme (this year / in YEAR)?"."""
        entry = self.years.get(year)
        if entry and entry.theme:
            return f"Chủ đề Tháng hành động năm {year} là: “{entry.theme}”."
        latest = self.latest_theme()
        text = f"Mình chưa có thông tin chính thức về chủ đề Tháng hành động năm {year}."
        if latest:
            text += (f" Chủ đề gần nhất mình có là của năm {latest.year}: “{latest.theme}”."
                     " Khi có hướng dẫn của năm nay, cán bộ Hội sẽ cập nhật.")
        return text

    def source_for(self, year: int) -> str:
        """Where a year's facts come from."""
        return self.years[year].source if year in self.years else self.standing_source
