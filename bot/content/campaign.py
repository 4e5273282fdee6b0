"""Year-aware answers about the Action Month: its dates, theme, leading agency and messages, and the related days.

Guarantees:
- The file is checked as it is loaded: every year names its `source` and the date it was `checked`, its dates lie
  in that year with the start before the end, its theme and lead are non-empty text or null, it has at most 3
  messages, and every related day has a date, a name, a source and a checked date. A file breaking any of this is
  refused with `CampaignFileError` (a `ValueError`), so the reloader keeps the previous content.
- A theme is the wording on file or None; no answer ever makes one up. For a year whose theme is not on file the
  answer says plainly that no public source names it yet and gives the latest known theme with its year.
- A year without an entry gets the standing period (15/11–15/12); a year before the first Month (`every_year.since`)
  is answered as such, never with dates or a theme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.text import normalize

_YEAR_RE = re.compile(r"\b(20\d\d)\b")
MAX_MESSAGES = 3


class CampaignFileError(ValueError):
    """content/campaign.yml breaks one of the rules in this module's docstring."""


@dataclass(frozen=True)
class CampaignYear:
    """Facts for one year of the campaign."""

    year: int
    theme: str | None
    start: date
    end: date
    source: str
    lead: str | None = None
    messages: tuple[str, ...] = ()
    checked: date | None = None


@dataclass(frozen=True)
class RelatedDay:
    """A day or month that goes with the Action Month (25/11, the 16 days, June, 28/6, 20/10, 8/3)."""

    date: str
    name: str
    source: str
    checked: date
    note: str | None = None

    def line(self) -> str:
        """One reply line: date, name and what fixes the day."""
        note = f" – {self.note}" if self.note else ""
        return f"• {self.date}: {self.name}{note}"


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


def _fail(where: str, problem: str) -> CampaignFileError:
    return CampaignFileError(f"content/campaign.yml, {where}: {problem}")


def _text(value: Any, where: str, field: str, *, optional: bool = False) -> str | None:
    """A non-empty string (or None when `optional` and the value is null)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        wanted = "chữ hoặc null / text or null" if optional else "bắt buộc, không được trống / required, non-empty"
        raise _fail(where, f"`{field}` {wanted}")
    return value.strip()


def _day(value: Any, where: str, field: str) -> date:
    """A YAML date (YYYY-MM-DD, unquoted)."""
    if not isinstance(value, date):
        raise _fail(where, f"`{field}` phải là ngày dạng YYYY-MM-DD / must be a YYYY-MM-DD date, got {value!r}")
    return value


def _day_month(value: Any, where: str) -> tuple[int, int]:
    """A "dd/mm" string of the standing period, as (day, month)."""
    match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})\s*", str(value))
    if not match:
        raise _fail(where, f"cần dạng dd/mm / expected dd/mm, got {value!r}")
    day, month = int(match.group(1)), int(match.group(2))
    try:
        date(2000, month, day)
    except ValueError:
        raise _fail(where, f"ngày không có thật / no such day: {value!r}") from None
    return day, month


def _year_entry(key: Any, info: Any) -> CampaignYear:
    """One `years:` entry, checked."""
    try:
        year = int(key)
    except (TypeError, ValueError):
        raise _fail(f"years: {key!r}", "khóa phải là một năm / the key must be a year") from None
    where = f"năm / year {year}"
    if not isinstance(info, dict):
        raise _fail(where, "phải là một mục có các trường / must be a mapping of fields")
    start, end = _day(info.get("start"), where, "start"), _day(info.get("end"), where, "end")
    if start.year != year or end.year != year or start > end:
        raise _fail(where, f"ngày không khớp năm / dates do not fit the year: {start} – {end}")
    messages = info.get("messages") or []
    if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
        raise _fail(where, f"`messages` là danh sách 0–{MAX_MESSAGES} câu / a list of 0–{MAX_MESSAGES} messages")
    return CampaignYear(
        year=year,
        theme=_text(info.get("theme"), where, "theme", optional=True),
        start=start,
        end=end,
        source=_text(info.get("source"), where, "source"),
        lead=_text(info.get("lead"), where, "lead", optional=True),
        messages=tuple(_text(m, where, "messages") for m in messages),
        checked=_day(info.get("checked"), where, "checked"),
    )


def _related_day(index: int, info: Any) -> RelatedDay:
    """One `related_days:` entry, checked."""
    where = f"related_days #{index + 1}"
    if not isinstance(info, dict):
        raise _fail(where, "phải là một mục có các trường / must be a mapping of fields")
    return RelatedDay(date=_text(str(info["date"]) if "date" in info else None, where, "date"),
                      name=_text(info.get("name"), where, "name"),
                      source=_text(info.get("source"), where, "source"),
                      checked=_day(info.get("checked"), where, "checked"),
                      note=_text(info.get("note"), where, "note", optional=True))


class Campaign:
    """The campaign facts loaded from content/campaign.yml."""

    def __init__(self, data: dict) -> None:
        if not isinstance(data, dict):
            raise _fail("tệp / file", "không đọc được nội dung / not a mapping")
        self.name: str = _text(data.get("name"), "name", "name")
        every = data.get("every_year")
        if not isinstance(every, dict):
            raise _fail("every_year", "thiếu / missing")
        self._start = _day_month(every.get("start"), "every_year.start")
        self._end = _day_month(every.get("end"), "every_year.end")
        self.standing_source: str = _text(every.get("source"), "every_year", "source")
        since = every.get("since")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            raise _fail("every_year", f"`since` phải là một năm / must be a year, got {since!r}")
        self.since: int | None = since
        years = data.get("years") or {}
        if not isinstance(years, dict):
            raise _fail("years", "phải là các mục theo năm / must be a mapping by year")
        self.years: dict[int, CampaignYear] = {}
        for key, info in years.items():
            entry = _year_entry(key, info)
            self.years[entry.year] = entry
        related = data.get("related_days") or []
        if not isinstance(related, list):
            raise _fail("related_days", "phải là một danh sách / must be a list")
        self.related_days: tuple[RelatedDay, ...] = tuple(_related_day(i, d) for i, d in enumerate(related))

    @classmethod
    def load(cls, path: Path) -> Campaign:
        """Read and check content/campaign.yml (CampaignFileError when it breaks a rule)."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise _fail("tệp / file", f"YAML không hợp lệ / invalid YAML: {exc}") from exc
        return cls(data)

    def period(self, year: int) -> tuple[date, date]:
        """Start and end dates of a year's campaign (from its entry, else the standing period)."""
        if year in self.years:
            return self.years[year].start, self.years[year].end
        return date(year, self._start[1], self._start[0]), date(year, self._end[1], self._end[0])

    def before_first(self, year: int) -> bool:
        """True when `year` is before the first Action Month (so it had none)."""
        return self.since is not None and year < self.since

    def latest_theme(self) -> CampaignYear | None:
        """The most recent year with a theme on file."""
        themed = [y for y in self.years.values() if y.theme]
        return max(themed, key=lambda y: y.year) if themed else None

    def _not_held(self, year: int) -> str:
        return (f"{self.name} được tổ chức hằng năm từ năm {self.since} (từ 15/11 đến 15/12), "
                f"nên năm {year} chưa có Tháng hành động.")

    def dates_answer(self, year: int, today: date) -> str:
        """Vietnamese answer to "when is the Action Month (this year / in YEAR)?"."""
        if self.before_first(year):
            return self._not_held(year)
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
        """Vietnamese answer to "what is the theme (this year / in YEAR)?", with the lead agency and messages."""
        if self.before_first(year):
            return self._not_held(year)
        entry = self.years.get(year)
        lead = f" Cơ quan chủ trì toàn quốc năm {year}: {entry.lead}." if entry and entry.lead else ""
        if entry and entry.theme:
            text = f"Chủ đề Tháng hành động năm {year} là: “{entry.theme}”.{lead}"
            if entry.messages:
                text += " Thông điệp truyền thông: " + "; ".join(f"“{m.rstrip('.')}”" for m in entry.messages) + "."
            return text
        text = (f"Mình chưa có thông tin chính thức về chủ đề Tháng hành động năm {year}: "
                f"hiện chưa có nguồn công khai nào nêu chủ đề của năm {year}.{lead}")
        latest = self.latest_theme()
        if latest:
            text += (f" Chủ đề gần nhất mình có là của năm {latest.year}: “{latest.theme}”."
                     f" Khi có hướng dẫn chính thức của năm {year}, cán bộ Hội sẽ cập nhật.")
        return text

    def related_days_answer(self) -> str:
        """Vietnamese answer to "which days go with the Action Month?" (empty list: says so)."""
        if not self.related_days:
            return "Mình chưa có danh sách các ngày liên quan đến Tháng hành động."
        lines = "\n".join(day.line() for day in self.related_days)
        return f"Các ngày, tháng gắn với {self.name}:\n{lines}"

    def source_for(self, year: int) -> str:
        """Where a year's facts come from."""
        return self.years[year].source if year in self.years else self.standing_source
