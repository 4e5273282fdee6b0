"""The report's figures from a seeded database, checked against values worked out by hand (tests/reporting/seed.py),
with every count from 1 to 4 shown as "<5"."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.config import CONTENT_DIR
from bot.reporting.build import make_report
from bot.reporting.cases import minutes_text, percentile
from bot.reporting.conversations import open_tracker
from bot.reporting.figures import question_titles
from bot.reporting.tables import Period, Report, Table, cell
from tests.reporting.seed import HANOI, PERIOD, seed_all

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
DV_LAW = "Luật Phòng, chống bạo lực gia đình năm 2022 có gì mới?"  # content/faq/dv_law_2022.yml's title


def build(engine, tracker_path: Path, library, period: Period = PERIOD) -> Report:
    return make_report(engine, open_tracker(f"sqlite:///{tracker_path}"), period, library.provinces,
                       question_titles(CONTENT_DIR), NOW)


@pytest.fixture
def seeded(engine, tmp_path: Path) -> tuple:
    ids = seed_all(engine, tmp_path / "tracker.db")
    return engine, tmp_path / "tracker.db", ids


def rows(table: Table) -> list[tuple]:
    return [tuple(r) for r in table.rows]


def test_one_rule_for_small_counts() -> None:
    assert [cell(n) for n in (0, 1, 4, 5, 17)] == [0, "<5", "<5", 5, 17]
    assert percentile([2, 4, 6, 8, 10, 30], 0.9) == 30 and percentile([5.0], 0.5) == 5.0
    assert [minutes_text(m) for m in (0.5, 7, 9.4, 125)] == ["30 giây", "7 phút", "9 phút", "2 giờ 5 phút"]


def test_residents_and_conversations_by_channel_and_day(seeded, library) -> None:
    engine, tracker, _ = seeded
    report = build(engine, tracker, library)
    # zalo: 6 residents, one session each; messenger: 5 residents, two sessions each; telegram: 2 and 2
    assert rows(report.table("reach_by_channel")) == [("Zalo", 6, 6), ("Messenger", 5, 10), ("Telegram", "<5", "<5"),
                                                      ("Tất cả", 13, 18)]
    by_day = dict((r[0], r[1:]) for r in rows(report.table("reach_by_day")))
    assert len(by_day) == 7 and by_day["15/11/2026"] == (0, 0)
    assert by_day["16/11/2026"] == (6, 6) and by_day["17/11/2026"] == (5, 10) and by_day["18/11/2026"] == ("<5", "<5")
    assert by_day["21/11/2026"] == (0, 0)  # the event at 00:01 on 22/11 (Vietnam) is after the period


def test_top_questions_by_topic_with_titles(seeded, library) -> None:
    engine, tracker, _ = seeded
    report = build(engine, tracker, library)
    # faq/dv_law_2022: 6 (zalo) + 5 (messenger); ask_hotline 6; ask_events 2; greetings are not questions
    assert rows(report.table("questions")) == [(DV_LAW, 11), ("Hỏi số điện thoại hỗ trợ", 6),
                                               ("Hỏi sự kiện sắp tới", "<5")]
    assert rows(report.table("unanswered")) == [("Không hiểu", 5), ("Độ tin cậy thấp", 7), ("Ngoài phạm vi", "<5"),
                                                ("Tất cả", 14)]


def test_cases_by_urgency_channel_province_and_claim_times(seeded, library) -> None:
    engine, tracker, _ = seeded
    report = build(engine, tracker, library)
    assert rows(report.table("cases_by_urgency")) == [("Nguy hiểm ngay", 7), ("Cần hỗ trợ", 5), ("Tất cả", 12)]
    assert rows(report.table("cases_by_channel")) == [("Zalo", "<5"), ("Messenger", 5), ("Telegram", "<5"),
                                                      ("Tất cả", 12)]
    assert rows(report.table("cases_by_province")) == [("Chưa rõ tỉnh", 5), (HANOI, 5), ("Cần Thơ", "<5")]
    # danger now: waits 2 (first claim, not the second at 50), 4, 6, 8, 10, 30 → median 7, p90 (6th of 6) 30;
    # needs support: 20 and 40, under 5 cases → no times; all eight: median (8+10)/2 = 9, p90 (8th of 8) 40
    assert rows(report.table("claim_times")) == [("Nguy hiểm ngay", 6, "7 phút", "30 phút"),
                                                 ("Cần hỗ trợ", "<5", "—", "—"), ("Tất cả", 8, "9 phút", "40 phút")]
    # re-escalated: D7 twice, N2..N5 once → 5 cases, 6 times; resolved D1..D6 and N1 = 7 of 12 = 58%
    assert rows(report.table("case_follow_up")) == [("Số ca phải nhắc lại (báo giám sát)", 5), ("Số lần nhắc lại", 6),
                                                    ("Số ca đã xử lý xong", 7), ("Tỉ lệ đã xử lý xong", "58%")]
    outcomes = dict(rows(report.table("outcomes")))
    assert outcomes["Đã tư vấn"] == 5 and outcomes["Chuyển nhà tạm lánh / địa chỉ tin cậy"] == "<5"
    assert outcomes["Chưa ghi kết quả"] == "<5" and outcomes["Chuyển trạm y tế"] == 0


def test_broadcasts_recipients_skips_subscriptions_and_polls(seeded, library) -> None:
    engine, tracker, ids = seeded
    report = build(engine, tracker, library)
    lines = {r[0]: r for r in rows(report.table("broadcasts"))}
    assert sorted(lines) == sorted([ids["b1"], ids["b2"], ids["b3"]])  # no draft, nothing before or after
    assert lines[ids["b1"]][1] == "17/11/2026" and lines[ids["b1"]][5] == "Đã gửi xong"
    assert lines[ids["b1"]][6:] == (18, 8, 9, "<5", 0)
    assert lines[ids["b2"]][6:] == (12, 12, 0, 0, 0) and lines[ids["b3"]][6:] == (5, "<5", 0, 0, "<5")
    assert rows(report.table("delivery")) == [("Đã gửi", 22), ("Bỏ qua", 9), ("Lỗi", "<5"), ("Chưa gửi", "<5")]
    skips = dict(rows(report.table("skip_reasons")))
    assert skips["Đang có ca tư vấn chưa xong"] == 6 and skips["Ngoài thời hạn nhắn tin của nền tảng"] == "<5"
    assert skips["Đã hủy đăng ký"] == "<5" and skips["Hết thời gian gửi trong giờ nghỉ"] == 0
    assert rows(report.table("subscriptions")) == [("Zalo", 6, 0, 6), ("Messenger", 0, "<5", "<5"),
                                                   ("Telegram", "<5", 0, "<5"), ("Tất cả", 7, "<5", 10)]
    polls = rows(report.table("polls"))
    assert [p for p in polls if p[0] == ids["b2"]] == [
        (ids["b2"], "Buổi đối thoại?", "Rất hữu ích", 7, 12), (ids["b2"], "Buổi đối thoại?", "Bình thường", "<5", 12),
        (ids["b2"], "Buổi đối thoại?", "Chưa hữu ích", "<5", 12)]
    assert {p[3] for p in polls if p[0] == ids["b3"]} == {"Chưa đủ 10 câu trả lời"}  # 4 answers: below the 10 rule
    assert {p[4] for p in polls if p[0] == ids["b3"]} == {"<5"}


def test_one_province(seeded, library) -> None:
    engine, tracker, ids = seeded
    report = build(engine, tracker, library, replace(PERIOD, province=HANOI))
    # zalo:1..3 said "ha noi" in the conversation, zalo:1..6 subscribed for Hà Nội; nobody else is of Hà Nội
    assert rows(report.table("reach_by_channel")) == [("Zalo", 6, 6), ("Tất cả", 6, 6)]
    assert rows(report.table("questions")) == [("Hỏi số điện thoại hỗ trợ", 6), (DV_LAW, 6)]  # a tie: by title
    assert rows(report.table("unanswered")) == [("Độ tin cậy thấp", 7), ("Ngoài phạm vi", "<5"), ("Tất cả", 9)]
    assert rows(report.table("cases_by_urgency")) == [("Nguy hiểm ngay", 5), ("Cần hỗ trợ", 0), ("Tất cả", 5)]
    assert rows(report.table("claim_times"))[0] == ("Nguy hiểm ngay", 5, "6 phút", "10 phút")
    lines = {r[0]: r for r in rows(report.table("broadcasts"))}
    assert sorted(lines) == sorted([ids["b1"], ids["b2"]])  # b1 reached Hà Nội, b2 was for Hà Nội; b3 neither
    assert lines[ids["b1"]][6:] == (10, 8, "<5", 0, 0)       # only its ten Hà Nội recipients
    assert rows(report.table("subscriptions")) == [("Zalo", 6, 0, 6), ("Tất cả", 6, 0, 6)]


def test_the_summary_reads_the_same_figures(seeded, library) -> None:
    engine, tracker, _ = seeded
    text = " ".join(build(engine, tracker, library).summary)
    assert "13 người dân trong 18 cuộc trò chuyện" in text and DV_LAW in text
    assert "Có 12 ca được chuyển cho tư vấn viên; một nửa số ca được nhận trong vòng 9 phút" in text
    assert "Đã gửi 3 tin" not in text and "Đã gửi dưới 5 tin truyền thông; 22 lượt" in text
    assert "dưới 5 người hủy đăng ký" in text


def test_without_a_tracker_store_the_rest_is_still_there(seeded, library, tmp_path: Path) -> None:
    engine, _, _ = seeded
    assert open_tracker(f"sqlite:///{tmp_path / 'missing.db'}") is None
    report = build(engine, tmp_path / "missing.db", library)
    assert rows(report.table("reach_by_channel")) == [("Tất cả", 0, 0)]
    assert "Không đọc được kho hội thoại" in report.table("reach_by_channel").note
    assert rows(report.table("cases_by_urgency"))[-1] == ("Tất cả", 12)


def test_no_raw_small_count_reaches_any_table(seeded, library) -> None:
    engine, tracker, _ = seeded
    report = build(engine, tracker, library)
    small = [(t.key, row) for t in report.tables for row in t.rows
             for value in row[1:] if isinstance(value, int) and 0 < value < 5]  # row[0]: a label or a broadcast id
    assert small == []


def test_a_broken_topic_file_costs_only_its_title(tmp_path: Path) -> None:
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "a.yml").write_text("topic: a\ntitle: Chủ đề A\nanswer: x\nsource: y\nchecked: 2026-11-22\n"
                                            "examples: [x]\n", encoding="utf-8")
    (tmp_path / "faq" / "b.yml").write_text("topic: b\ntitle: [half written", encoding="utf-8")
    titles = question_titles(tmp_path)
    assert titles["faq/a"] == "Chủ đề A" and "faq/b" not in titles and titles["ask_hotline"] == "Hỏi số điện thoại hỗ trợ"
