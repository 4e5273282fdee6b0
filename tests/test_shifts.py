"""Hours and the on-duty roster (bot.cases.shifts): parsing, storage in UTC, who reads messages when."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.cases import shifts
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.timeutil import UTC, VN_TZ

EVERY_DAY = shifts.parse_hours("07:30-21:00")


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Vietnam, December 2026 (1 December 2026 is a Tuesday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=VN_TZ)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    init_db(eng)
    return eng


def test_hours_parse_every_day_and_per_weekday() -> None:
    assert EVERY_DAY.days == (shifts.DayHours(450, 1260),) * 7
    week = shifts.parse_hours("mon-fri 07:30-21:00, sat 08:00-12:00")
    assert week.days[0] == week.days[4] == shifts.DayHours(450, 1260)
    assert week.days[5] == shifts.DayHours(480, 720) and week.days[6] is None
    assert shifts.parse_hours("mon-sun 00:00-24:00").open_at(vn(2, 23, 59))
    for bad in ("21:00-07:30", "7h30-21h", "xyz 07:30-21:00", "07:30-25:00"):
        with pytest.raises(ValueError):
            shifts.parse_hours(bad)


def test_default_hours_come_from_desk_hours_and_survive_a_bad_value() -> None:
    assert shifts.default_hours({"DESK_HOURS": "mon 08:00-17:00"}).days[1] is None
    assert shifts.default_hours({"DESK_HOURS": "nonsense"}) == EVERY_DAY
    assert shifts.default_hours({}) == EVERY_DAY


def test_open_at_is_vietnam_time_and_closing_minute_is_closed() -> None:
    assert EVERY_DAY.open_at(vn(2, 7, 30)) and EVERY_DAY.open_at(vn(2, 20, 59))
    assert not EVERY_DAY.open_at(vn(2, 21, 0)) and not EVERY_DAY.open_at(vn(2, 7, 29))
    assert EVERY_DAY.open_at(datetime(2026, 12, 2, 1, 0, tzinfo=UTC))  # 08:00 in Vietnam


def test_saved_hours_override_the_default_per_weekday(engine: Engine) -> None:
    week = list(EVERY_DAY.days)
    week[6] = None  # Sunday off
    shifts.save_hours(engine, shifts.WeekHours(tuple(week)), "desk:hoa", vn(1, 9))
    shifts.save_hours(engine, shifts.WeekHours(tuple(week)), "desk:hoa", vn(1, 9))  # twice: the same
    saved = shifts.week_hours(engine, shifts.parse_hours("08:00-17:00"))
    assert saved.days[6] is None and saved.days[0] == shifts.DayHours(450, 1260)


def test_duties_are_stored_in_utc_and_adding_twice_is_one_duty(engine: Engine) -> None:
    first = shifts.add_duty(engine, "lan", "Chị Lan", False, vn(2, 7, 30), vn(2, 14), "desk:hoa", vn(1, 9))
    again = shifts.add_duty(engine, "lan", "Chị Lan", False, vn(2, 7, 30), vn(2, 14), "desk:hoa", vn(1, 9))
    assert first.id == again.id and first.starts_at == vn(2, 7, 30)
    assert [d.username for d in shifts.on_duty(engine, vn(2, 7, 30))] == ["lan"]
    assert shifts.on_duty(engine, vn(2, 14)) == [] and shifts.on_duty(engine, vn(2, 7, 29)) == []
    with pytest.raises(ValueError):
        shifts.add_duty(engine, "lan", "Chị Lan", False, vn(2, 14), vn(2, 7), "desk:hoa", vn(1, 9))
    assert shifts.remove_duty(engine, first.id) and not shifts.remove_duty(engine, first.id)


def test_without_a_roster_the_hours_decide(engine: Engine) -> None:
    during = shifts.availability(engine, vn(2, 10), EVERY_DAY)
    assert during.open_now and during.in_hours and during.next_read_at is None and not during.roster_kept
    night = shifts.availability(engine, vn(2, 22), EVERY_DAY)
    assert not night.open_now and night.next_read_at == vn(3, 7, 30)
    early = shifts.availability(engine, vn(2, 6), EVERY_DAY)
    assert early.next_read_at == vn(2, 7, 30)


def test_with_a_roster_nobody_on_duty_in_hours_waits_for_the_next_duty(engine: Engine) -> None:
    shifts.add_duty(engine, "lan", "Chị Lan", False, vn(2, 7, 30), vn(2, 12), "desk:hoa", vn(1, 9))
    shifts.add_duty(engine, "mai", "Chị Mai", False, vn(2, 13), vn(2, 21), "desk:hoa", vn(1, 9))
    shifts.add_duty(engine, "hoa", "Chị Hoa", True, vn(2, 7), vn(3, 7), "desk:hoa", vn(1, 9))
    morning = shifts.availability(engine, vn(2, 9), EVERY_DAY)
    assert morning.open_now and [d.name for d in morning.on_duty] == ["Chị Lan"]
    assert morning.supervisor is not None and morning.supervisor.name == "Chị Hoa"
    lunch = shifts.availability(engine, vn(2, 12, 15), EVERY_DAY)
    assert lunch.in_hours and not lunch.open_now and lunch.next_read_at == vn(2, 13)
    # After the last duty the roster promises nobody: the next opening of the hours is the honest answer.
    night = shifts.availability(engine, vn(2, 22), EVERY_DAY)
    assert not night.open_now and night.next_read_at == vn(3, 7, 30) and night.supervisor is not None


def test_a_duty_outside_the_hours_does_not_open_the_desk(engine: Engine) -> None:
    shifts.add_duty(engine, "lan", "Chị Lan", False, vn(2, 20), vn(3, 9), "desk:hoa", vn(1, 9))
    late = shifts.availability(engine, vn(2, 23), EVERY_DAY)
    assert not late.open_now and late.next_read_at == vn(3, 7, 30)


def test_no_hours_at_all_means_no_promise(engine: Engine) -> None:
    closed = shifts.WeekHours((None,) * 7)
    assert shifts.availability(engine, vn(2, 10), closed).next_read_at is None


def test_when_phrase_says_the_day_and_part_of_day_in_vietnamese() -> None:
    now = vn(2, 22)
    assert shifts.when_phrase(vn(3, 7, 30), now) == "7:30 sáng mai"
    assert shifts.when_phrase(vn(2, 23, 5), now) == "23:05 đêm nay"
    assert shifts.when_phrase(vn(2, 13), vn(2, 12)) == "13:00 chiều nay"
    assert shifts.when_phrase(vn(7, 7, 30), now) == "7:30 sáng thứ Hai (7/12)"
    assert shifts.when_phrase(vn(6, 19), now) == "19:00 tối Chủ nhật (6/12)"
    assert shifts.when_phrase(datetime(2026, 12, 3, 0, 30, tzinfo=UTC), now) == "7:30 sáng mai"


def test_lookahead_finds_a_duty_days_ahead(engine: Engine) -> None:
    shifts.add_duty(engine, "lan", "Chị Lan", False, vn(5, 8), vn(5, 12), "desk:hoa", vn(1, 9))
    avail = shifts.availability(engine, vn(2, 10), EVERY_DAY)
    assert not avail.open_now and avail.next_read_at == vn(5, 8)
