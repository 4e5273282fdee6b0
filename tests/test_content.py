"""Content: year-aware campaign answers, events by province, hotlines, generated FAQ files."""

from datetime import date

from bot.config import CONTENT_DIR, ROOT
from bot.content import faq
from bot.content.campaign import asked_year
from bot.content.library import Library
from bot.replies import events_reply, hotline_reply, urgent_reply
from bot.triage import DANGER_NOW, TriageResult


def test_dates_this_year_use_the_standing_period(library: Library, today: date) -> None:
    answer = library.campaign.dates_answer(2026, today)
    assert "15/11/2026" in answer and "15/12/2026" in answer and "đang diễn ra" in answer


def test_dates_of_a_known_year(library: Library, today: date) -> None:
    assert "đã diễn ra từ ngày 15/11/2022 đến ngày 15/12/2022" in library.campaign.dates_answer(2022, today)


def test_theme_known_year(library: Library) -> None:
    assert "Đảm bảo an sinh xã hội" in library.campaign.theme_answer(2022)


def test_theme_unknown_year_says_so_and_gives_latest(library: Library) -> None:
    answer = library.campaign.theme_answer(2026)
    latest = library.campaign.latest_theme()
    assert latest is not None and latest.year < 2026
    assert "chưa có thông tin" in answer and f"năm {latest.year}: “{latest.theme}”" in answer


def test_asked_year() -> None:
    today = date(2026, 11, 22)
    assert asked_year("chủ đề năm 2021 là gì", today) == 2021
    assert asked_year("nam ngoai chu de la gi", today) == 2025
    assert asked_year("năm nay diễn ra khi nào", today) == 2026


def test_events_past_only_says_none_upcoming(library: Library, today: date) -> None:
    kon_tum = library.provinces.find("Sắp tới ở Kon Tum có sự kiện gì?")
    reply = events_reply(library, kon_tum, today)
    assert "chưa có thông tin về sự kiện sắp tới ở Kon Tum (nay thuộc Quảng Ngãi)" in reply
    assert "11/11/2022" in reply and "Ngọc Hồi" in reply and "lễ phát động" in reply


def test_events_upcoming_listed(library: Library) -> None:
    quang_ngai = library.provinces.find("quang ngai")
    reply = events_reply(library, quang_ngai, date(2022, 11, 1))
    assert "Các sự kiện sắp tới" in reply and "11/11/2022" in reply


def test_province_names_old_new_and_unaccented(library: Library) -> None:
    for text, current in [("kon tum", "Quảng Ngãi"), ("Sóc Trăng", "Cần Thơ"), ("soc trang", "Cần Thơ"),
                          ("tp hcm", "Thành phố Hồ Chí Minh"), ("Bình Phước", "Đồng Nai"), ("ha noi", "Hà Nội")]:
        assert library.provinces.find(f"tôi ở {text}").current == current


def test_hotline_for_a_province_with_a_line(library: Library) -> None:
    reply = hotline_reply(library, library.provinces.find("o can tho"))
    assert "0377672444" in reply and "113" in reply and "111" in reply and "115" in reply


def test_hotline_without_local_line_says_so(library: Library) -> None:
    """Issue 9: a province without its own line gets the national 24/7 line, never Sóc Trăng's centre."""
    reply = hotline_reply(library, library.provinces.find("ở Hà Nội"))
    assert "chưa có số tư vấn riêng cho Hà Nội" in reply and "0377672444" not in reply
    assert "Tư vấn toàn quốc (24/7): 1900969680" in reply


def test_urgent_reply_carries_every_number(library: Library) -> None:
    reply = urgent_reply(TriageResult(DANGER_NOW, ("kêu cứu",)), library, None, 7, True)
    for number in ("113", "115", "111", "1900969680", "18001768"):
        assert number in reply
    assert "0377672444" not in reply  # a province's own line only to that province (issue 9)
    assert "#7" in reply


def test_urgent_reply_when_case_not_recorded_says_call(library: Library) -> None:
    reply = urgent_reply(TriageResult(DANGER_NOW, ()), library, None, None, False)
    assert "chưa chuyển được" in reply and "113" in reply


def test_every_number_in_replies_is_in_the_directory(library: Library) -> None:
    assert {"113", "115", "111", "0377672444", "1900969680", "18001768"} <= library.hotlines.all_numbers()


def test_generated_faq_files_are_current() -> None:
    assert faq.is_built(CONTENT_DIR, ROOT), "run `make content`"


def test_faq_has_at_least_30_topics_each_with_source() -> None:
    topics = faq.load_topics(CONTENT_DIR / "faq")
    assert len(topics) >= 30
    for topic in topics:
        assert topic.source.strip() and topic.answer.strip()
        assert topic.path.stem == topic.topic


def test_library_loads() -> None:
    lib = Library.load(CONTENT_DIR)
    assert lib.events.items and lib.hotlines.emergency
