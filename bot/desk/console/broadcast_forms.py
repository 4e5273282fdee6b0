"""The broadcast form and what the broadcast pages show: labels in Vietnamese, the form's fields read into a
`Draft`, the per-channel preview and the progress figures.

Guarantees: the form keeps what staff typed (shown again with the errors); times are read as Vietnam time;
a field the form cannot read is reported in Vietnamese next to the form, never raised; the preview is
`broadcasts.render`'s text, exactly what a recipient on that channel receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.content.library import Library
from bot.desk.cards import channel_label
from bot.outreach import broadcasts
from bot.outreach.broadcasts import BroadcastStatus, BroadcastView, Draft
from bot.outreach.limits import QUIET_OFF, default_quiet_hours
from bot.outreach.models import (
    SKIP_REASONS,
    TOPIC_EVENTS,
    TOPIC_NEWS,
)
from bot.outreach.rendering import preview
from bot.outreach.views import skip_label
from bot.senders import PUSH_CHANNELS
from bot.text import fold
from bot.timeutil import VN_TZ, aware

TOPIC_LABELS = {TOPIC_NEWS: "Tin Tháng hành động", TOPIC_EVENTS: "Sự kiện"}
CHANNEL_CHOICES = {"": "Tất cả", **{c: channel_label(c) for c in PUSH_CHANNELS}}
POLL_OPTIONS = 4
TIME_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
BAD_START = "Thời điểm bắt đầu gửi không đúng dạng: hãy chọn ngày và giờ (giờ Việt Nam)."
BAD_END = "Thời điểm kết thúc không đúng dạng: hãy chọn ngày và giờ (giờ Việt Nam), hoặc để trống."
OPTIONS_WITHOUT_QUESTION = "Có lựa chọn trả lời nhưng chưa có câu hỏi: hãy ghi câu hỏi, hoặc xóa các lựa chọn."
MAX_FIELD = 5000  # longer fields are cut before validation (the platforms' limits are far below)


def quiet_choices() -> dict[str, str]:
    """The quiet-hours choices: the configured default, or none."""
    default = default_quiet_hours()
    choices = {} if default.lower() == QUIET_OFF else {default: f"{default} giờ Việt Nam (mặc định)"}
    choices[QUIET_OFF] = "Không có giờ nghỉ (gửi cả đêm)"
    return choices


def quiet_label(spec: str) -> str:
    """Stored quiet hours in Vietnamese."""
    return "không có (gửi cả đêm)" if spec == QUIET_OFF else f"{spec} giờ Việt Nam"


def local_input(value: datetime | None) -> str:
    """A time as a datetime-local field's value, in Vietnam time."""
    return aware(value).astimezone(VN_TZ).strftime(TIME_FORMAT) if value else ""


def parse_local(text: str) -> datetime | None:
    """A datetime-local value (Vietnam time) as an aware datetime; None when it is not one."""
    text = text.strip()
    for fmt in (TIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=VN_TZ)
        except ValueError:
            continue
    return None


def province_names(library: Library) -> list[str]:
    """The current provinces, alphabetically as a Vietnamese reader expects."""
    return sorted(library.provinces.names(), key=lambda n: (fold(n), n))


@dataclass
class FormValues:
    """The form's fields as typed (strings), shown again with the errors."""

    text: str = ""
    topic: str = TOPIC_NEWS
    province: str = ""
    channel: str = ""
    start: str = ""
    end: str = ""
    quiet_hours: str = ""
    poll_question: str = ""
    options: list[str] = field(default_factory=lambda: [""] * POLL_OPTIONS)
    event: str = ""

    @classmethod
    def fresh(cls, now: datetime) -> FormValues:
        """An empty form: sending starts at the next full hour plus one, default quiet hours."""
        start = aware(now).astimezone(VN_TZ).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
        return cls(start=local_input(start), quiet_hours=next(iter(quiet_choices())))

    @classmethod
    def read(cls, form: Any) -> FormValues:
        """The posted fields (missing ones empty)."""
        def get(name: str) -> str:
            return str(form.get(name) or "")[:MAX_FIELD]
        options = [get(f"option{i}").strip() for i in range(1, POLL_OPTIONS + 1)]
        return cls(get("text"), get("topic") or TOPIC_NEWS, get("province").strip(), get("channel").strip(),
                   get("start"), get("end"), get("quiet_hours").strip(), get("poll_question").strip(), options,
                   get("event").strip())

    def draft(self, event_key: str | None = None) -> tuple[Draft | None, list[str]]:
        """The Draft these fields describe, or the reasons the form cannot be read."""
        errors = []
        start = parse_local(self.start)
        end = parse_local(self.end) if self.end.strip() else None
        if start is None:
            errors.append(BAD_START)
        if self.end.strip() and end is None:
            errors.append(BAD_END)
        answers = [o for o in self.options if o]
        if answers and not self.poll_question:
            errors.append(OPTIONS_WITHOUT_QUESTION)
        if start is None or errors:
            return None, errors
        return Draft(text=self.text, start_at=start, buttons=answers if self.poll_question else [],
                     poll_question=self.poll_question or None, topic=self.topic, province=self.province or None,
                     channel=self.channel or None, end_at=end,
                     quiet_hours=self.quiet_hours or default_quiet_hours(), event_key=event_key), []


@dataclass(frozen=True)
class ChannelPreview:
    """What one channel's recipient receives, and what their locked screen shows."""

    channel: str
    label: str
    lock: str
    text: str
    buttons: list[str]


def previews(item: Draft | BroadcastView, library: Library) -> list[ChannelPreview]:
    """The message on each channel the broadcast targets."""
    province = item.province
    if isinstance(item, Draft) and province:
        province = library.provinces.current_of(province) or province
    shown = []
    for channel in (item.channel,) if item.channel in PUSH_CHANNELS else PUSH_CHANNELS:
        rendered = broadcasts.render(item, channel, library)
        shown.append(ChannelPreview(channel, channel_label(channel), preview(item.text, province), rendered.text,
                                    list(rendered.buttons)))
    return shown


@dataclass(frozen=True)
class Progress:
    """A broadcast's progress as the page shows it (the skipped rows: every known reason, then others)."""

    recipients: int
    sent: int
    failed: int
    pending: int
    skipped: list[tuple[str, str, int]]
    skipped_total: int
    done: int
    total_max: int


def progress(st: BroadcastStatus) -> Progress:
    """The page's figures from `broadcasts.status`."""
    reasons = [*SKIP_REASONS, *(r for r in st.skipped if r not in SKIP_REASONS)]
    rows = [(r, skip_label(r), int(st.skipped.get(r, 0))) for r in reasons]
    skipped_total = sum(st.skipped.values())
    return Progress(st.recipients, st.sent, st.failed, st.pending, rows, skipped_total,
                    max(st.recipients - st.pending, 0), max(st.recipients, 1))


def status_json(st: BroadcastStatus) -> dict[str, Any]:
    """The status endpoint's body: `status().as_json()` and the pending count."""
    return {**st.as_json(), "pending": st.pending}
