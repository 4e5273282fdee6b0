"""Spreadsheet export/import: round trip, row-level errors in Vietnamese, nothing written unless all valid."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import yaml
from openpyxl import load_workbook

from bot.content.provinces import Provinces
from bot.staff.checks import other_nlu_examples
from bot.staff.sheets import (
    SHEET_TITLES,
    ImportResult,
    SheetError,
    export_csv,
    export_xlsx,
    import_sheets,
    read_any,
)
from bot.staff.store import load_content
from tests.staff.helpers import snapshot


def run_import(repo: Path, source: Path, today: date, allow_delete: bool = False, apply: bool = True) -> ImportResult:
    errors: list[SheetError] = []
    sheets = read_any(source, errors)
    result = import_sheets(sheets, repo / "content", load_content(repo / "content"), today,
                           Provinces.load(repo / "content" / "provinces.yml"), other_nlu_examples(repo / "data" / "nlu"),
                           errors, allow_delete=allow_delete)
    if apply and result.ok:
        result.plan.apply()
    return result


def rows_of(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def find_row(ws, column: int, value: str) -> int:
    for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if row[column] == value:
            return i
    raise AssertionError(f"{value!r} not found")


def test_xlsx_round_trip_is_identical(repo: Path, day: date, tmp_path: Path) -> None:
    before = snapshot(repo / "content")
    export_xlsx(load_content(repo / "content"), tmp_path / "noi-dung.xlsx")
    result = run_import(repo, tmp_path / "noi-dung.xlsx", day)
    assert result.ok, [e.line() for e in result.errors]
    assert result.plan.empty()
    assert snapshot(repo / "content") == before


def test_csv_round_trip_is_identical(repo: Path, day: date, tmp_path: Path) -> None:
    before = snapshot(repo / "content")
    files = export_csv(load_content(repo / "content"), tmp_path / "csv")
    assert [f.name for f in files] == ["faq.csv", "events.csv", "hotlines.csv"]
    assert files[0].read_bytes().startswith(b"\xef\xbb\xbf")
    result = run_import(repo, tmp_path / "csv", day)
    assert result.ok, [e.line() for e in result.errors]
    assert result.plan.empty()
    assert snapshot(repo / "content") == before


def test_export_layout(repo: Path, tmp_path: Path) -> None:
    content = load_content(repo / "content")
    export_xlsx(content, tmp_path / "x.xlsx")
    wb = load_workbook(tmp_path / "x.xlsx")
    assert wb.sheetnames == [SHEET_TITLES["faq"], SHEET_TITLES["events"], SHEET_TITLES["hotlines"], "Hướng dẫn"]
    faq = rows_of(wb[SHEET_TITLES["faq"]])
    assert faq[0] == ["Mã chủ đề", "Tiêu đề", "Câu trả lời", "Nguồn", "Ngày rà soát", "Câu hỏi mẫu"]
    assert len(faq) - 1 == sum(len(t["examples"]) for t in content.topics.values())
    hot = wb[SHEET_TITLES["hotlines"]]
    row = find_row(hot, 1, "0377672444")
    assert hot.cell(row=row, column=2).number_format == "@"


def test_hotline_change_needs_the_faq_answer_changed_too(repo: Path, day: date, tmp_path: Path) -> None:
    book = tmp_path / "noi-dung.xlsx"
    export_xlsx(load_content(repo / "content"), book)
    wb = load_workbook(book)
    hot = wb[SHEET_TITLES["hotlines"]]
    hot.cell(row=find_row(hot, 1, "0377672444"), column=2).value = "0912345678"
    wb.save(book)
    before = snapshot(repo / "content")

    result = run_import(repo, book, day)
    assert not result.ok
    faq = wb[SHEET_TITLES["faq"]]
    answer_row = next(i for i, r in enumerate(faq.iter_rows(values_only=True), start=1)
                      if r[0] == "counseling_center" and r[2])
    assert any(e.sheet == "FAQ" and e.row == answer_row and e.column == "Câu trả lời" and "0377672444" in e.message
               for e in result.errors), [e.line() for e in result.errors]
    assert snapshot(repo / "content") == before

    cell = faq.cell(row=answer_row, column=3)
    cell.value = cell.value.replace("0377672444", "0912345678")
    wb.save(book)
    result = run_import(repo, book, day)
    assert result.ok, [e.line() for e in result.errors]
    changed = {k for k, v in snapshot(repo / "content").items() if before.get(k) != v}
    assert changed == {"hotlines.yml", "faq/counseling_center.yml"}
    hotlines = yaml.safe_load((repo / "content" / "hotlines.yml").read_text(encoding="utf-8"))
    assert hotlines["counseling"][0]["number"] == "0912345678"
    comment_lines = [line for line in before["hotlines.yml"].decode("utf-8").splitlines() if line.lstrip().startswith("#")]
    assert len(comment_lines) >= 3
    after_text = (repo / "content" / "hotlines.yml").read_text(encoding="utf-8")
    assert [line for line in after_text.splitlines() if line.lstrip().startswith("#")] == comment_lines

    again = tmp_path / "again.xlsx"
    export_xlsx(load_content(repo / "content"), again)
    assert run_import(repo, again, day).plan.empty()


def test_add_a_question_and_an_event(repo: Path, day: date, tmp_path: Path) -> None:
    book = tmp_path / "noi-dung.xlsx"
    export_xlsx(load_content(repo / "content"), book)
    wb = load_workbook(book)
    wb[SHEET_TITLES["faq"]].append(["safety_plan", None, None, None, None, "lam sao de len ke hoach thoat than"])
    wb[SHEET_TITLES["events"]].append(["Diễn đàn phụ nữ với pháp luật", "Cần Thơ", "phường Ninh Kiều",
                                       datetime(2026, 12, 1), "08:00", "Nhà văn hóa phường", "Kế hoạch số 12/KH",
                                       "22/11/2026"])
    wb.save(book)
    before = snapshot(repo / "content")
    result = run_import(repo, book, day)
    assert result.ok, [e.line() for e in result.errors]
    changed = {k for k, v in snapshot(repo / "content").items() if before.get(k) != v}
    assert changed == {"events.yml", "faq/safety_plan.yml"}
    topic = yaml.safe_load((repo / "content" / "faq" / "safety_plan.yml").read_text(encoding="utf-8"))
    assert topic["examples"][-1] == "lam sao de len ke hoach thoat than"
    events_text = (repo / "content" / "events.yml").read_text(encoding="utf-8")
    assert events_text.startswith("# Events calendar.")
    event = yaml.safe_load(events_text)["events"][-1]
    assert event == {"title": "Diễn đàn phụ nữ với pháp luật", "province": "Cần Thơ", "district": "phường Ninh Kiều",
                     "date": date(2026, 12, 1), "time": "08:00", "place": "Nhà văn hóa phường",
                     "source": "Kế hoạch số 12/KH", "checked": date(2026, 11, 22)}


def test_row_errors_are_located_and_nothing_is_written(repo: Path, day: date, tmp_path: Path) -> None:
    book = tmp_path / "noi-dung.xlsx"
    export_xlsx(load_content(repo / "content"), book)
    wb = load_workbook(book)
    faq, events, hot = (wb[SHEET_TITLES[s]] for s in ("faq", "events", "hotlines"))
    faq.append(["Chủ Đề Sai", None, None, None, None, "câu hỏi"])
    faq.append(["safety_plan", None, "Một câu trả lời khác", None, None, "thêm câu"])
    events.cell(row=2, column=4).value = "32/13/2026"
    hot.cell(row=2, column=1).value = "cứu hỏa"
    hot.cell(row=find_row(hot, 1, "0377672444"), column=2).value = 377672444
    wb.save(book)
    before = snapshot(repo / "content")
    result = run_import(repo, book, day)
    assert not result.ok
    found = {(e.sheet, e.row, e.column) for e in result.errors}
    n = faq.max_row
    assert ("FAQ", n - 1, "Mã chủ đề") in found
    assert ("FAQ", n, "Câu trả lời") in found
    assert ("Sự kiện", 2, "Ngày diễn ra") in found
    assert ("Đường dây nóng", 2, "Loại") in found
    zero = next(e for e in result.errors if e.sheet == "Đường dây nóng" and e.column == "Số điện thoại")
    assert "số 0" in zero.message
    assert all(e.line().startswith("[LỖI] Trang “") for e in result.errors)
    assert snapshot(repo / "content") == before


def test_missing_topic_is_refused_unless_allowed(repo: Path, day: date, tmp_path: Path) -> None:
    content = load_content(repo / "content")
    del content.topics["bot_scope"]
    export_csv(content, tmp_path / "csv")
    result = run_import(repo, tmp_path / "csv" / "faq.csv", day)
    assert not result.ok
    assert any("bot_scope" in e.message and "--allow-delete" in e.message for e in result.errors)
    assert (repo / "content" / "faq" / "bot_scope.yml").exists()
    result = run_import(repo, tmp_path / "csv" / "faq.csv", day, allow_delete=True)
    assert result.ok, [e.line() for e in result.errors]
    assert not (repo / "content" / "faq" / "bot_scope.yml").exists()


def test_semicolon_csv_from_vietnamese_excel(repo: Path, day: date, tmp_path: Path) -> None:
    export_csv(load_content(repo / "content"), tmp_path / "csv")
    src = tmp_path / "csv" / "hotlines.csv"
    with src.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[4][1] = "0912 345 678"
    semi = tmp_path / "hotlines.csv"
    with semi.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    result = run_import(repo, semi, day, apply=False)
    assert result.sheets == ["Đường dây nóng"]
    # The columns were read (no header error); the only problem is the FAQ answer still giving the old number.
    assert [e.message for e in result.errors if "0377672444" in e.message]
    assert not [e for e in result.errors if e.row == 1]


def test_non_utf8_csv_is_explained(repo: Path, day: date, tmp_path: Path) -> None:
    bad = tmp_path / "hotlines.csv"
    bad.write_bytes(b"Lo\xe1i,S\xf4 \xf0i\xean tho\xe1i\r\nkh\xe2n c\xe2p,113\r\n")  # Windows code page, not UTF-8
    result = run_import(repo, bad, day)
    assert not result.ok
    assert "UTF-8" in result.errors[0].message
