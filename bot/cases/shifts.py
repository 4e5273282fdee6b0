"""Counselors' working hours and the on-duty roster: the tables, and who reads a resident's message when.

Guarantees: every time is stored in UTC; hours are per weekday in Vietnam time, and a weekday without a saved
row takes the default (`DESK_HOURS`, else 07:30–21:00 every day); saving the same hours or adding the same duty
twice changes nothing. A roster is *kept* while some duty ends less than a week ago or later; then a person reads
messages only in hours and while a counselor is on duty, otherwise in hours. `availability` only reads.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import Boolean, Column, DateTime, Integer, String, UniqueConstraint, delete, false, func, select
from sqlalchemy.engine import Engine

from bot.cases.models import CaseEvent
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.timeutil import UTC, VN_TZ, aware

log = logging.getLogger(__name__)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
DEFAULT_HOURS = "07:30-21:00"
# History kinds of a hand-over: a case given to another counselor, or back to the queue (its clock restarts).
HANDED_OVER, RETURNED = "handed_over", "returned_to_queue"
ROSTER_KEPT_FOR = timedelta(days=7)
LOOKAHEAD = timedelta(days=8)
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class ShiftHours(Base):
    """The counselors' hours of one weekday (0 = Monday), minutes after midnight in Vietnam; null = closed."""

    __tablename__ = "shift_hours"
    weekday = Column(Integer, primary_key=True, autoincrement=False)
    opens = Column(Integer, nullable=True)
    closes = Column(Integer, nullable=True)
    updated_by = Column(String(200), nullable=False, default="")
    updated_at = Column(DateTime(timezone=True), nullable=True)


class ShiftDuty(Base):
    """One person on duty from `starts_at` to `ends_at`: a counselor, or (on_call) the supervisor on call."""

    __tablename__ = "shift_duties"
    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(80), nullable=False, index=True)
    display_name = Column(String(120), nullable=False)
    on_call = Column(Boolean, nullable=False, default=False, server_default=false())
    starts_at = Column(DateTime(timezone=True), nullable=False, index=True)
    ends_at = Column(DateTime(timezone=True), nullable=False, index=True)
    created_by = Column(String(200), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=True)

    __table_args__ = (UniqueConstraint("username", "on_call", "starts_at", "ends_at", name="uq_shift_duty"),)


@dataclass(frozen=True)
class DayHours:
    """Opening and closing minute of a day (closing may be 1440, midnight at the end of the day)."""

    opens: int
    closes: int

    def label(self) -> str:
        """`07:30–21:00`."""
        return f"{_hhmm(self.opens)}–{_hhmm(self.closes)}"


@dataclass(frozen=True)
class WeekHours:
    """The hours of the seven weekdays, Monday first (None: nobody works that day)."""

    days: tuple[DayHours | None, ...]

    def open_at(self, at: datetime) -> bool:
        """Whether `at` falls inside the hours."""
        local = aware(at).astimezone(VN_TZ)
        day = self.days[local.weekday()]
        minute = local.hour * 60 + local.minute
        return day is not None and day.opens <= minute < day.closes

    def openings(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Each day's opening time strictly after `after` and not after `until`, in order (UTC)."""
        day = aware(after).astimezone(VN_TZ).date()
        while datetime.combine(day, time(), VN_TZ) <= until:
            hours = self.days[day.weekday()]
            if hours is not None:
                start = datetime.combine(day, time(), VN_TZ) + timedelta(minutes=hours.opens)
                if after < start <= until:
                    yield start
            day += timedelta(days=1)


def _utc(value: datetime) -> datetime:
    """Aware UTC (SQLite keeps the wall-clock digits only, so every stored or compared time is UTC)."""
    return aware(value).astimezone(UTC)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_range(text: str) -> DayHours | None:
    """`07:30-21:00` → DayHours; `off` or empty → None; ValueError otherwise (closing after opening)."""
    text = (text or "").strip().lower()
    if text in ("", "off", "nghỉ", "nghi"):
        return None
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"giờ không hợp lệ: {text!r} (cần dạng 07:30-21:00)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens, closes = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or closes > 1440 or closes <= opens:
        raise ValueError(f"giờ không hợp lệ: {text!r} (giờ kết thúc phải sau giờ bắt đầu, tối đa 24:00)")
    return DayHours(opens, closes)


def parse_hours(text: str) -> WeekHours:
    """`07:30-21:00` (every day) or `mon-fri 07:30-21:00, sat 08:00-12:00` (days not named are off)."""
    text = (text or "").strip()
    if _RANGE.match(text.lower()):
        return WeekHours((parse_range(text),) * 7)
    days: list[DayHours | None] = [None] * 7
    for part in filter(None, (p.strip() for p in text.split(","))):
        names, _, hours = part.partition(" ")
        first, _, last = names.lower().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"ngày không hợp lệ: {names!r} (mon, tue, wed, thu, fri, sat, sun)")
        lo, hi = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        for index in range(lo, hi + 1):
            days[index] = parse_range(hours)
    return WeekHours(tuple(days))


def default_hours(environ: Mapping[str, str] | None = None) -> WeekHours:
    """DESK_HOURS from the environment; unset or invalid (logged) gives 07:30–21:00 every day."""
    raw = (os.environ if environ is None else environ).get("DESK_HOURS") or DEFAULT_HOURS
    try:
        return parse_hours(raw)
    except ValueError:
        log.warning("DESK_HOURS is not valid; using %s every day", DEFAULT_HOURS)
        return parse_hours(DEFAULT_HOURS)


def week_hours(engine: Engine, default: WeekHours | None = None) -> WeekHours:
    """The saved hours, each weekday without a row taking the default."""
    base = list((default or default_hours()).days)
    with session_factory(engine)() as s:
        for row in s.execute(select(ShiftHours)).scalars():
            if 0 <= row.weekday < 7:
                base[row.weekday] = DayHours(row.opens, row.closes) if row.opens is not None else None
    return WeekHours(tuple(base))


def save_hours(engine: Engine, week: WeekHours, by: str, now: datetime) -> None:
    """Save the hours of all seven days (saving the same hours again changes nothing but the stamp)."""
    with session_factory(engine).begin() as s:
        for weekday, day in enumerate(week.days):
            row = s.get(ShiftHours, weekday) or ShiftHours(weekday=weekday)
            row.opens, row.closes = (day.opens, day.closes) if day else (None, None)
            row.updated_by, row.updated_at = by, now
            s.add(row)


@dataclass(frozen=True)
class Duty:
    """One person's duty, as the desk shows it."""

    id: int
    username: str
    name: str
    on_call: bool
    starts_at: datetime
    ends_at: datetime

    def covers(self, at: datetime) -> bool:
        """Whether the duty runs at `at`."""
        return self.starts_at <= at < self.ends_at


def _duty(row: ShiftDuty) -> Duty:
    return Duty(row.id, row.username, row.display_name, bool(row.on_call), _utc(row.starts_at), _utc(row.ends_at))


def add_duty(engine: Engine, username: str, name: str, on_call: bool, starts_at: datetime, ends_at: datetime,
             by: str, now: datetime) -> Duty:
    """Put a person on the roster (the same duty twice is one row); ValueError when it ends before it starts."""
    if ends_at <= starts_at:
        raise ValueError("Giờ kết thúc ca trực phải sau giờ bắt đầu.")
    starts_at, ends_at = _utc(starts_at), _utc(ends_at)
    with session_factory(engine).begin() as s:
        row = s.execute(select(ShiftDuty).where(
            ShiftDuty.username == username, ShiftDuty.on_call.is_(on_call), ShiftDuty.starts_at == starts_at,
            ShiftDuty.ends_at == ends_at)).scalar_one_or_none()
        if row is None:
            row = ShiftDuty(username=username, display_name=name[:120], on_call=on_call, starts_at=starts_at,
                            ends_at=ends_at, created_by=by, created_at=now)
            s.add(row)
            s.flush()
        return _duty(row)


def remove_duty(engine: Engine, duty_id: int) -> bool:
    """Take a duty off the roster; False when it was not there (already removed)."""
    with session_factory(engine).begin() as s:
        return s.execute(delete(ShiftDuty).where(ShiftDuty.id == duty_id)).rowcount == 1


def duties_between(engine: Engine, start: datetime, end: datetime) -> list[Duty]:
    """Duties that run at some moment in [start, end), earliest first."""
    start, end = _utc(start), _utc(end)
    with session_factory(engine)() as s:
        rows = s.execute(select(ShiftDuty).where(ShiftDuty.ends_at > start, ShiftDuty.starts_at < end)
                         .order_by(ShiftDuty.starts_at, ShiftDuty.on_call, ShiftDuty.display_name)).scalars()
        return [_duty(r) for r in rows]


def on_duty(engine: Engine, at: datetime) -> list[Duty]:
    """Everyone on duty at `at`: counselors and the supervisor on call (`on_call`)."""
    return [d for d in duties_between(engine, at, at + timedelta(microseconds=1)) if d.covers(at)]


def returned_to_queue(engine: Engine, case_ids: list[int]) -> dict[int, tuple[int, datetime]]:
    """For each case handed back to the queue: (id, time) of its latest hand-back, where its clock restarts."""
    found: dict[int, tuple[int, datetime]] = {}
    with session_factory(engine)() as s:
        for start in range(0, len(case_ids), 500):  # bounded IN lists, whatever the backlog
            rows = s.execute(select(CaseEvent.case_id, func.max(CaseEvent.id)).where(
                CaseEvent.kind == RETURNED, CaseEvent.case_id.in_(case_ids[start:start + 500]))
                .group_by(CaseEvent.case_id)).all()
            ats = dict(s.execute(select(CaseEvent.id, CaseEvent.at).where(CaseEvent.id.in_([r[1] for r in rows]))).all())
            found.update({case_id: (event_id, _utc(ats[event_id])) for case_id, event_id in rows})
    return found


@dataclass(frozen=True)
class Availability:
    """Whether a person reads a resident's message now, else from when (None: nobody knows), and who is on."""

    at: datetime
    in_hours: bool
    open_now: bool
    next_read_at: datetime | None
    on_duty: tuple[Duty, ...]
    supervisor: Duty | None
    roster_kept: bool
    hours: WeekHours


def availability(engine: Engine, at: datetime, default: WeekHours | None = None) -> Availability:
    """In hours or not, when the next person reads messages, who is on duty, the supervisor on call."""
    at = _utc(at)
    hours = week_hours(engine, default)
    rows = duties_between(engine, at - ROSTER_KEPT_FOR, at + LOOKAHEAD)
    kept = bool(rows)
    counselors = [d for d in rows if not d.on_call]

    def reads(t: datetime) -> bool:
        return hours.open_at(t) and (not kept or any(d.covers(t) for d in counselors))

    now = [d for d in rows if d.covers(at)]
    supervisor = next((d for d in now if d.on_call), None)
    open_now = reads(at)
    following: datetime | None = None
    if not open_now:
        starts = {d.starts_at for d in counselors if at < d.starts_at <= at + LOOKAHEAD}
        candidates = sorted(starts | set(hours.openings(at, at + LOOKAHEAD)))
        following = next((t for t in candidates if reads(t)), None)
        if following is None and kept:  # nobody on the roster yet: the hours are the only promise
            following = next(hours.openings(at, at + LOOKAHEAD), None)
    return Availability(at, hours.open_at(at), open_now, following, tuple(d for d in now if not d.on_call),
                        supervisor, kept, hours)


def day_part(hour: int) -> str:
    """The Vietnamese part of the day of an hour: sáng, trưa, chiều, tối, đêm."""
    if hour < 11:
        return "sáng"
    if hour < 13:
        return "trưa"
    if hour < 18:
        return "chiều"
    return "tối" if hour < 22 else "đêm"


def when_phrase(when: datetime, now: datetime) -> str:
    """`7:30 sáng mai`, `13:00 chiều nay`, `7:30 sáng thứ Hai (7/12)`, in Vietnam time."""
    local, today = aware(when).astimezone(VN_TZ), aware(now).astimezone(VN_TZ).date()
    days = (local.date() - today).days
    clock = f"{local.hour}:{local.minute:02d} {day_part(local.hour)}"
    if days == 0:
        return f"{clock} nay"
    if days == 1:
        return f"{clock} mai"
    return f"{clock} {DAY_NAMES[local.weekday()]} ({local.day}/{local.month})"
