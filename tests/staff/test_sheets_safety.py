"""Spreadsheet safety: no exported cell is ever a live formula, any text round-trips, hostile files are refused."""

from __future__ import annotations

import csv
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from bot.staff.sheets import SHEET_TITLES, SheetError, export_csv, export_xlsx, read_any
from bot.staff.sheets.parse import parse_faq
from bot.staff.sheets.read import MAX_CELL_CHARS, MAX_FILE_BYTES, MAX_ROWS
from bot.staff.sheets.schema import cell_text
from bot.staff.store import Content, load_content, plan_changes
from tests.staff.helpers import snapshot
from tests.staff.test_sheets import run_import

# Texts Excel (or LibreOffice, Google Sheets) would evaluate or mangle if written raw, and legit examples that
# merely start like one; every one must come back exactly.
DANGEROUS = ["=1+1", "=HYPERLINK(\"https://evil.example\",\"bấm vào đây\")", "=cmd|' /C calc'!A0", "+84 912 345 678",
             "-giúp tôi với", "- Gọi 113 ngay", "@SUM(A1:A2)", "'=đã có dấu nháy", "''hai dấu nháy", "'thường",
             "＝1+1", "%0A=1", "=\tgiữa", "a=b vẫn là chữ"]
# With a tab or CR in front: never a formula, and read back as the import reads any cell (trimmed).
PREFIXED = ["\t=1+1", "\r=1+1", "\t-giúp", "\r\n@x"]
# XML 1.0 cannot hold these control characters (openpyxl refuses them, Python's csv reader refuses NUL): the export
# drops them from both formats. They are the only text that does not come back.
XML_ILLEGAL = {chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32)]}


def _legal(text: str) -> str:
    return "".join(c for c in text if c not in XML_ILLEGAL)


def _content(examples: list[str], *, title: str = "Tiêu đề", answer: str = "Câu trả lời.") -> Content:
    topic = {"topic": "hoi_dap", "title": title, "answer": answer, "source": "Luật 13/2022/QH15",
             "checked": date(2026, 11, 22), "examples": examples}
    return Content(topics={"hoi_dap": topic})


def _faq_back(path: Path) -> tuple[dict, list[SheetError]]:
    errors: list[SheetError] = []
    sheets = read_any(path, errors)
    parsed = parse_faq(sheets["faq"], errors)
    return parsed.topics.get("hoi_dap", {}), errors


def _no_formula_in_xlsx(path: Path) -> None:
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert b"<f>" not in book.read(name) and b"<f " not in book.read(name), name
    wb = load_workbook(path)  # not data_only: a formula cell would show as data_type "f"
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(tuple("=+-@\t\r'＝＋－＠")):
                    assert cell.quotePrefix, (ws.title, cell.coordinate)  # Excel keeps it text when edited


def _no_formula_in_csv(folder: Path) -> None:
    for path in folder.glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                for value in row:
                    assert not value.startswith(tuple("=+-@\t\r＝＋－＠")), (path.name, value)


def test_dangerous_cells_are_exported_as_text_and_come_back_exactly(tmp_path: Path) -> None:
    content = _content(DANGEROUS + PREFIXED, title="=TIÊU ĐỀ", answer="- Gọi 113.\n- Gọi 111.")
    export_xlsx(content, tmp_path / "x.xlsx")
    export_csv(content, tmp_path / "csv")
    _no_formula_in_xlsx(tmp_path / "x.xlsx")
    _no_formula_in_csv(tmp_path / "csv")
    expected = DANGEROUS + [cell_text(t) for t in PREFIXED]
    for source in (tmp_path / "x.xlsx", tmp_path / "csv"):
        topic, errors = _faq_back(source)
        assert not errors, [e.line() for e in errors]
        assert topic["examples"] == expected, source.name
        assert (topic["title"], topic["answer"]) == ("=TIÊU ĐỀ", "- Gọi 113.\n- Gọi 111."), source.name


def test_excel_shows_a_formula_like_example_as_typed(tmp_path: Path) -> None:
    export_xlsx(_content(["=1+1"]), tmp_path / "x.xlsx")
    ws = load_workbook(tmp_path / "x.xlsx")[SHEET_TITLES["faq"]]
    cell = ws.cell(row=2, column=6)
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1", "s", True)


def test_full_import_of_formula_like_examples_changes_nothing(repo: Path, day: date, tmp_path: Path) -> None:
    current = load_content(repo / "content")
    topic = dict(current.topics["safety_plan"])
    topic["examples"] = [*topic["examples"], *DANGEROUS]
    plan_changes(repo / "content", current, {"safety_plan": topic}).apply()
    before = snapshot(repo / "content")
    content = load_content(repo / "content")
    export_xlsx(content, tmp_path / "noi-dung.xlsx")
    export_csv(content, tmp_path / "csv")
    for source in (tmp_path / "noi-dung.xlsx", tmp_path / "csv"):
        result = run_import(repo, source, day)
        assert result.ok, [e.line() for e in result.errors]
        assert result.plan.empty(), (source.name, list(result.plan.writes))
    assert snapshot(repo / "content") == before


def test_control_characters_are_dropped_not_a_crash(tmp_path: Path) -> None:
    content = _content(["a\x0bb\x00c"])
    export_xlsx(content, tmp_path / "x.xlsx")
    export_csv(content, tmp_path / "csv")
    for source in (tmp_path / "x.xlsx", tmp_path / "csv"):
        topic, errors = _faq_back(source)
        assert not errors and topic["examples"] == ["abc"], source.name


def test_a_hand_made_csv_with_a_nul_byte_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "faq.csv").write_bytes("Mã chủ đề,Câu hỏi mẫu\r\nhoi_dap,a\x00b\r\n".encode())
    errors: list[SheetError] = []
    assert read_any(tmp_path / "faq.csv", errors) == {}
    assert len(errors) == 1 and errors[0].sheet == "faq.csv"


cell_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


# One workbook and three CSV files are written per example: 60 examples keep this under ~10 s on a shared machine.
# function_scoped_fixture: tmp_path is only a parent folder; every example writes into its own subfolder.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(examples=st.lists(cell_texts, min_size=1, max_size=4), title=cell_texts)
def test_any_text_round_trips_and_no_cell_is_a_formula(tmp_path: Path, examples: list[str], title: str) -> None:
    folder = Path(tmp_path) / f"ex{len(list(Path(tmp_path).iterdir()))}"
    title = title if cell_text(_legal(title)) else "Tiêu đề"
    content = _content(examples, title=title)
    export_xlsx(content, folder / "x.xlsx")
    export_csv(content, folder / "csv")
    _no_formula_in_xlsx(folder / "x.xlsx")
    _no_formula_in_csv(folder / "csv")
    want = [cell_text(_legal(e)) for e in examples if cell_text(_legal(e))]
    for source in (folder / "csv", folder / "x.xlsx"):
        topic, errors = _faq_back(source)
        assert not errors, [e.line() for e in errors]
        assert (topic["examples"], topic["title"]) == (want, cell_text(_legal(title))), source.name


# ---- hostile or oversized files -----------------------------------------------------------------------------

def _xlsx_with_sheet_xml(path: Path, tmp: Path, sheet_xml: bytes) -> Path:
    export_xlsx(_content(["xin chào"]), tmp / "base.xlsx")
    with zipfile.ZipFile(tmp / "base.xlsx") as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else data)
    return path


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&secret;</t></is></c></row></sheetData></worksheet>"""


@pytest.mark.parametrize("sheet_xml", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_xml_entity_attacks_are_refused(tmp_path: Path, sheet_xml: bytes) -> None:
    book = _xlsx_with_sheet_xml(tmp_path / "evil.xlsx", tmp_path, sheet_xml)
    errors: list[SheetError] = []
    sheets = read_any(book, errors)
    assert sheets == {} and errors
    assert "root:" not in repr(sheets) and all("lol" not in e.message for e in errors)


def test_reading_xlsx_refuses_to_run_without_defused_xml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export_xlsx(_content(["xin chào"]), tmp_path / "x.xlsx")
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    errors: list[SheetError] = []
    assert read_any(tmp_path / "x.xlsx", errors) == {}
    assert any("defusedxml" in e.message for e in errors), [e.line() for e in errors]


def test_a_file_over_the_size_cap_is_refused_before_reading(tmp_path: Path) -> None:
    for name in ("big.csv", "big.xlsx"):
        path = tmp_path / name
        with path.open("wb") as handle:
            handle.truncate(MAX_FILE_BYTES + 1)
        errors: list[SheetError] = []
        assert read_any(path, errors) == {}
        assert len(errors) == 1 and "quá lớn" in errors[0].message, [e.line() for e in errors]


def test_a_zip_bomb_workbook_is_refused(tmp_path: Path) -> None:
    padding = b"<!-- " + b" " * (60 * 1024 * 1024) + b" -->"  # deflates to a few tens of KiB
    sheet = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' \
            + padding + b"<sheetData/></worksheet>"
    book = _xlsx_with_sheet_xml(tmp_path / "bomb.xlsx", tmp_path, sheet)
    assert book.stat().st_size < MAX_FILE_BYTES
    errors: list[SheetError] = []
    assert read_any(book, errors) == {}
    assert len(errors) == 1 and "quá lớn" in errors[0].message, [e.line() for e in errors]


def test_too_many_rows_is_a_vietnamese_error(tmp_path: Path) -> None:
    rows = [["Mã chủ đề", "Câu hỏi mẫu"]] + [["hoi_dap", f"câu {i}"] for i in range(MAX_ROWS + 5)]
    wb = Workbook()
    ws = wb.active
    ws.title = "FAQ"
    for row in rows:
        ws.append(row)
    wb.save(tmp_path / "many.xlsx")
    with (tmp_path / "faq.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    for source in (tmp_path / "many.xlsx", tmp_path / "faq.csv"):
        errors: list[SheetError] = []
        read_any(source, errors)
        assert any("quá nhiều dòng" in e.message and f"{MAX_ROWS:,}".replace(",", ".") in e.message
                   for e in errors), (source.name, [e.line() for e in errors])


def test_an_oversized_cell_is_a_located_vietnamese_error(tmp_path: Path) -> None:
    export_csv(_content(["x" * (MAX_CELL_CHARS + 1), "bình thường"]), tmp_path / "csv")
    export_xlsx(_content(["x" * (MAX_CELL_CHARS + 1), "bình thường"]), tmp_path / "x.xlsx")
    for source in (tmp_path / "csv", tmp_path / "x.xlsx"):
        errors: list[SheetError] = []
        read_any(source, errors)
        assert [(e.sheet, e.row, e.column) for e in errors] == [("FAQ", 2, "Câu hỏi mẫu")], source.name
        assert "quá dài" in errors[0].message
