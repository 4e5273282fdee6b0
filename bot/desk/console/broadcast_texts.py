"""The ready texts staff start a broadcast from (content/broadcast_templates.yml), filled from the content only.

Guarantees: a template's placeholders are filled from the content library (this year's campaign dates and
theme, the default national counseling line) or from one event of content/events.yml; a template whose
facts are not on file is offered as unavailable, with the reason, never filled with a guess. A text only
ever holds the known placeholders' values and what the template says; nothing else is added.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from bot.config import CONTENT_DIR
from bot.content.events import Event
from bot.content.library import Library
from bot.outreach.models import TOPIC_EVENTS, TOPIC_NEWS, TOPICS

PLACEHOLDERS = {"theme": "chủ đề Tháng hành động năm nay (content/campaign.yml)",
                "dates": "thời gian Tháng hành động năm nay (content/campaign.yml)",
                "hotline_national": "đường dây tư vấn toàn quốc mặc định (content/hotlines.yml)",
                "event_title": "tên sự kiện (content/events.yml)",
                "event_date": "ngày giờ sự kiện (content/events.yml)",
                "event_place": "địa điểm sự kiện (content/events.yml)"}
EVENT_PLACEHOLDERS = ("event_title", "event_date", "event_place")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
EVENT_KEY_LENGTH = 12
TEMPLATES_FILE = CONTENT_DIR / "broadcast_templates.yml"


@dataclass(frozen=True)
class BroadcastTemplate:
    """One ready text: `event` templates are filled from one event ("Nhắc sự kiện")."""

    key: str
    title: str
    topic: str
    text: str
    event: bool = False

    def placeholders(self) -> list[str]:
        """The placeholder names the text uses, in order."""
        return _PLACEHOLDER.findall(self.text)


@dataclass(frozen=True)
class Filled:
    """A template filled for today (and an event): the text, or why it cannot be used yet."""

    template: BroadcastTemplate
    text: str | None
    missing: str | None = None


@dataclass(frozen=True)
class EventChoice:
    """An upcoming event staff can remind subscribers of: its stable key, label and current province."""

    key: str
    label: str
    province: str | None
    event: Event


def load_templates(path: Path) -> list[BroadcastTemplate]:
    """Read content/broadcast_templates.yml (an absent file: no templates)."""
    if not path.is_file():
        return []
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("templates") or []
    found = []
    for e in entries:
        topic = str(e.get("topic") or (TOPIC_EVENTS if e.get("event") else TOPIC_NEWS))
        found.append(BroadcastTemplate(str(e["key"]), str(e["title"]), topic if topic in TOPICS else TOPIC_NEWS,
                                       str(e["text"]).strip(), bool(e.get("event"))))
    return found


def day_text(d: date) -> str:
    """A date as staff and residents write it: 15/11/2026."""
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def campaign_values(library: Library, today: date) -> dict[str, str | None]:
    """This year's facts for the placeholders (None: not on file)."""
    start, end = library.campaign.period(today.year)
    entry = library.campaign.years.get(today.year)
    national = library.hotlines.national()
    hotline = f"{national[0].number} ({national[0].organisation})" if national else None
    return {"theme": entry.theme if entry and entry.theme else None,
            "dates": f"từ ngày {day_text(start)} đến ngày {day_text(end)}", "hotline_national": hotline}


def event_values(event: Event) -> dict[str, str | None]:
    """One event's facts for the placeholders."""
    when = f"{event.time + ' ' if event.time else ''}ngày {day_text(event.day)}"
    return {"event_title": event.title, "event_date": when,
            "event_place": event.place or event.district or event.province}


def _missing_reason(name: str, today: date) -> str:
    if name == "theme":
        return f"Chưa có chủ đề của năm {today.year} trong content/campaign.yml."
    if name in EVENT_PLACEHOLDERS:
        return "Mẫu này dùng cho «Nhắc sự kiện»: hãy chọn một sự kiện."
    if name in PLACEHOLDERS:
        return f"Chưa có thông tin cho {PLACEHOLDERS[name]}."
    return f"Mẫu có chỗ điền không biết: {{{name}}}."


def fill(template: BroadcastTemplate, values: dict[str, str | None], today: date) -> Filled:
    """The template's text with every placeholder filled, or the reason one cannot be."""
    for name in template.placeholders():
        if values.get(name) is None:
            return Filled(template, None, _missing_reason(name, today))
    return Filled(template, _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template.text))


def event_key(event: Event) -> str:
    """A short stable key of an event (its date, province and title), for links and forms."""
    raw = f"{event.day.isoformat()}|{event.province}|{event.title}".encode()
    return hashlib.sha256(raw).hexdigest()[:EVENT_KEY_LENGTH]


def upcoming_events(library: Library, today: date) -> list[EventChoice]:
    """Events from today on, soonest first, with the province they belong to now."""
    events = library.events.upcoming(None, library.provinces, today)
    return [EventChoice(event_key(e), f"{day_text(e.day)} · {e.title} ({e.province})",
                        library.provinces.current_of(e.province), e) for e in events]


def find_event(library: Library, today: date, key: str) -> EventChoice | None:
    """The upcoming event with this key, if any."""
    return next((c for c in upcoming_events(library, today) if c.key == key), None)
