"""The Action Month's year-by-year facts (2016–2026) and the related days: the content file and the answers."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.config import CONTENT_DIR
from bot.content.campaign import Campaign, CampaignFileError
from bot.content.library import Library

YEARS = range(2016, 2027)
MOLISA, MOHA = "Bộ Lao động – Thương binh và Xã hội", "Bộ Nội vụ"
CAMPAIGN_FILE = CONTENT_DIR / "campaign.yml"


@pytest.fixture(scope="module")
def raw() -> dict:
    """content/campaign.yml as parsed YAML, to break copies of it."""
    return yaml.safe_load(CAMPAIGN_FILE.read_text(encoding="utf-8"))


def test_every_year_since_2016_has_an_entry(library: Library) -> None:
    assert set(YEARS) <= set(library.campaign.years)
    assert library.campaign.since == 2016


@pytest.mark.parametrize("year", YEARS)
def test_each_year_names_its_source_and_when_it_was_checked(library: Library, year: int) -> None:
    entry = library.campaign.years[year]
    assert entry.source.strip() and library.campaign.source_for(year) == entry.source
    assert isinstance(entry.checked, date) and entry.checked <= date(2026, 12, 2)


@pytest.mark.parametrize("year", YEARS)
def test_each_year_theme_is_text_or_null_and_its_dates_the_standing_period(library: Library, year: int) -> None:
    entry = library.campaign.years[year]
    assert entry.theme is None or (isinstance(entry.theme, str) and entry.theme.strip() == entry.theme != "")
    assert (entry.start, entry.end) == (date(year, 11, 15), date(year, 12, 15))
    assert len(entry.messages) <= 3 and all(m.strip() for m in entry.messages)


def test_the_lead_agency_is_molisa_until_the_merger_then_the_ministry_of_home_affairs(library: Library) -> None:
    years = library.campaign.years
    assert all(years[y].lead == MOLISA for y in range(2016, 2025))
    assert years[2025].lead == MOHA
    assert years[2026].lead in (None, MOHA)


def test_known_themes_are_on_file_and_2026_has_none_yet(library: Library) -> None:
    years = library.campaign.years
    assert all(years[y].theme for y in range(2016, 2026))
    assert years[2025].theme == "Bình đẳng giới và an toàn cho phụ nữ và trẻ em gái trong kỷ nguyên số"
    assert years[2019].theme == years[2020].theme == "Chấm dứt bạo lực đối với phụ nữ và trẻ em"
    assert years[2026].theme is None


def test_answer_for_a_year_with_a_theme_names_lead_and_messages(library: Library) -> None:
    answer = library.campaign.theme_answer(2019)
    assert "Chủ đề Tháng hành động năm 2019 là: “Chấm dứt bạo lực đối với phụ nữ và trẻ em”." in answer
    assert MOLISA in answer and "Chấm dứt bạo lực, vun đắp yêu thương" in answer
    assert MOHA in library.campaign.theme_answer(2025)


def test_answer_for_this_year_without_a_theme_says_so_and_gives_the_latest_with_its_year(library: Library) -> None:
    answer = library.campaign.theme_answer(2026)
    assert "chưa có nguồn công khai nào nêu chủ đề của năm 2026" in answer
    assert "năm 2025: “Bình đẳng giới và an toàn cho phụ nữ và trẻ em gái trong kỷ nguyên số”" in answer
    assert "Chủ đề Tháng hành động năm 2026 là" not in answer


def test_a_year_before_the_first_month_gets_neither_dates_nor_theme(library: Library, today: date) -> None:
    for answer in (library.campaign.theme_answer(2015), library.campaign.dates_answer(2015, today)):
        assert "từ năm 2016" in answer and "năm 2015 chưa có Tháng hành động" in answer
        assert "15/11/2015" not in answer


def test_dates_this_year_come_from_the_2026_entry(library: Library) -> None:
    answer = library.campaign.dates_answer(2026, date(2026, 12, 2))
    assert "đang diễn ra: từ ngày 15/11/2026 đến ngày 15/12/2026" in answer and "còn 13 ngày" in answer


def test_related_days_are_loaded_each_with_source_and_checked(library: Library) -> None:
    days = {d.date: d for d in library.campaign.related_days}
    assert set(days) == {"25/11", "25/11–10/12", "tháng 6", "28/6", "20/10", "8/3"}
    for day in days.values():
        assert day.name.strip() and day.source.strip() and isinstance(day.checked, date)
    assert days["20/10"].name == "Ngày Phụ nữ Việt Nam" and "10/10" not in days
    assert "363/QĐ-TTg" in (days["tháng 6"].note or "")
    assert "72/2001/QĐ-TTg" in (days["28/6"].note or "")
    assert "bạo lực đối với phụ nữ" in days["25/11"].name


def test_related_days_answer_lists_every_day(library: Library) -> None:
    answer = library.campaign.related_days_answer()
    for day in library.campaign.related_days:
        assert f"• {day.date}: {day.name}" in answer


def test_related_days_answer_without_days_says_so(raw: dict) -> None:
    data = copy.deepcopy(raw)
    del data["related_days"]
    assert "chưa có danh sách" in Campaign(data).related_days_answer()


def _without(field: str):
    return lambda d: d["years"][2019].pop(field)


def _set(year: int, field: str, value):
    return lambda d: d["years"][year].__setitem__(field, value)


def _day_without(field: str):
    return lambda d: d["related_days"][0].pop(field)


BROKEN = {
    "a year without a source": _without("source"),
    "an empty source": _set(2019, "source", "  "),
    "a year without checked": _without("checked"),
    "checked not a date": _set(2019, "checked", "hôm qua"),
    "an empty theme (null is the way to say unknown)": _set(2019, "theme", ""),
    "a theme that is not text": _set(2019, "theme", 2019),
    "an empty lead": _set(2025, "lead", ""),
    "four messages": _set(2019, "messages", ["a", "b", "c", "d"]),
    "an empty message": _set(2019, "messages", [""]),
    "a start in another year": _set(2019, "start", date(2018, 11, 15)),
    "an end before the start": _set(2019, "end", date(2019, 11, 1)),
    "a date written as text": _set(2019, "start", "15/11/2019"),
    "a year key that is not a year": lambda d: d["years"].__setitem__("năm sau", d["years"][2019]),
    "a related day without a source": _day_without("source"),
    "a related day without a date": _day_without("date"),
    "a related day without checked": _day_without("checked"),
    "a standing period that is not a day": lambda d: d["every_year"].__setitem__("end", "32/12"),
}


@pytest.mark.parametrize("breakage", BROKEN, ids=list(BROKEN))
def test_a_broken_file_is_refused(raw: dict, tmp_path: Path, breakage: str) -> None:
    data = copy.deepcopy(raw)
    BROKEN[breakage](data)
    path = tmp_path / "campaign.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CampaignFileError):
        Campaign.load(path)


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "campaign.yml"
    path.write_text("years: [2019: {theme: \n", encoding="utf-8")
    with pytest.raises(CampaignFileError):
        Campaign.load(path)


def test_the_file_round_trips_and_older_entries_without_the_new_fields_still_load(raw: dict, tmp_path: Path) -> None:
    data = copy.deepcopy(raw)
    for field in ("lead", "messages"):
        data["years"][2022].pop(field)
    data.pop("related_days")
    path = tmp_path / "campaign.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    campaign = Campaign.load(path)
    assert campaign.years[2022].lead is None and campaign.years[2022].messages == ()
    assert "Đảm bảo an sinh xã hội" in campaign.theme_answer(2022) and campaign.related_days == ()
