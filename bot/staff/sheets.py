"""Spreadsheet export and import (.xlsx and .csv) of the FAQ, the events calendar and the hotlines."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from bot.content.provinces import Provinces
from bot.staff.checks import TOPIC_NAME_RE, Problem, check_content, errors, new_problems
from bot.staff.store import (
    HOTLINE_GROUPS,
    TOPIC_ORDER,
    Content,
    Plan,
    plan_changes,
    with_changes,
)
from bot.text import fold

FAQ, EVENTS, HOTLINES = "faq", "events", "hotlines"
SHEET_TITLES = {FAQ: "FAQ", EVENTS: "Sự kiện", HOTLINES: "Đường dây nóng"}
CSV_NAMES = {FAQ: "faq.csv", EVENTS: "events.csv", HOTLINES: "hotlines.csv"}
COLUMNS: dict[str, list[tuple[str, str]]] = {
    FAQ: [("topic", "Mã chủ đề"), ("title", "Tiêu đề"), ("answer", "Câu trả lời"), ("source", "Nguồn"),
          ("checked", "Ngày rà soát"), ("example", "Câu hỏi mẫu")],
    EVENTS: [("title", "Tên sự kiện"), ("province", "Tỉnh/thành"), ("district", "Quận/huyện/xã"),
             ("date", "Ngày diễn ra"), ("time", "Giờ"), ("place", "Địa điểm"), ("source", "Nguồn"),
             ("checked", "Ngày rà soát")],
    HOTLINES: [("group", "Loại"), ("number", "Số điện thoại"), ("organisation", "Cơ quan/tổ chức"),
               ("province", "Tỉnh/thành"), ("hours", "Giờ tiếp nhận"), ("default", "Mặc định"),
               ("source", "Nguồn"), ("checked", "Ngày rà soát")],
}
REQUIRED_COLUMNS = {FAQ: {"topic", "example"}, EVENTS: {"title", "date"}, HOTLINES: {"group", "number"}}
GROUP_LABELS = {"emergency": "khẩn cấp", "counseling": "tư vấn"}
_GROUP_WORDS = {"khan cap": "emergency", "emergency": "emergency", "tu van": "counseling", "counseling": "counseling"}
_YES = {"co", "x", "yes", "true", "1", "mac dinh"}
_NO = {"", "khong", "no", "false", "0"}
_DATE_FIELDS = {"checked", "date"}
_FIELD_LABELS = {sheet: dict(cols) for sheet, cols in COLUMNS.items()}
_DMY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
GUIDE_LINES = [
    "Cách dùng tệp này (xem thêm docs/staff-guide.md)",
    "",
    ("• Trang FAQ: mỗi dòng là một câu hỏi mẫu. Tiêu đề, câu trả lời, nguồn và ngày rà soát chỉ ghi ở dòng đầu "
     "của mỗi chủ đề; các dòng sau chỉ cần mã chủ đề và câu hỏi mẫu."),
    "• Thêm câu hỏi: chèn một dòng, ghi mã chủ đề (cột A) và câu hỏi (cột F).",
    "• Trang Sự kiện: mỗi dòng một sự kiện. Ngày ghi dạng 22/11/2026 hoặc 2026-11-22.",
    "• Trang Đường dây nóng: Loại là “khẩn cấp” hoặc “tư vấn”; đúng một số tư vấn có Mặc định = “có”.",
    "• Số điện thoại chỉ gồm chữ số, giữ số 0 ở đầu (ô đã định dạng Văn bản).",
    "• Sau khi sửa: lưu tệp .xlsx rồi chạy: .venv/bin/python -m bot content import <tệp>.",
    "• Không đổi tên các trang và các cột. Trang này không được nhập lại.",
]


@dataclass(frozen=True)
class SheetError:
    """A problem at a sheet, row and column of the imported file."""

    sheet: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"

    def line(self) -> str:
        """One printable Vietnamese line."""
        where = f"Trang “{self.sheet}”"
        if self.row is not None:
            where += f", dòng {self.row}"
        if self.column:
            where += f", cột “{self.column}”"
        label = "LỖI" if self.severity == "error" else "Cảnh báo"
        return f"[{label}] {where}: {self.message}"


# --------------------------------------------------------------------------- export

def _faq_rows(content: Content) -> list[list[Any]]:
    rows = []
    for name, topic in content.topics.items():
        examples = list(topic.get("examples") or []) or [None]
        for i, example in enumerate(examples):
            head = [topic.get("title"), topic.get("answer"), topic.get("source"), topic.get("checked")] if i == 0 \
                else [None, None, None, None]
            rows.append([name, *head, example])
    return rows


def _event_rows(content: Content) -> list[list[Any]]:
    return [[e.get(k) for k, _ in COLUMNS[EVENTS]] for e in content.events]


def _hotline_rows(content: Content) -> list[list[Any]]:
    rows = []
    for group in HOTLINE_GROUPS:
        for h in content.hotlines.get(group) or []:
            values = {**h, "group": GROUP_LABELS[group], "default": "có" if h.get("default") else None}
            rows.append([values.get(k) for k, _ in COLUMNS[HOTLINES]])
    return rows


def sheet_rows(content: Content) -> dict[str, list[list[Any]]]:
    """The data rows of every sheet (without the header)."""
    return {FAQ: _faq_rows(content), EVENTS: _event_rows(content), HOTLINES: _hotline_rows(content)}


_WIDTHS = {"topic": 28, "title": 40, "answer": 80, "source": 40, "checked": 14, "example": 55, "province": 18,
           "district": 22, "date": 14, "time": 10, "place": 36, "group": 12, "number": 16, "organisation": 45,
           "hours": 22, "default": 11}


def export_xlsx(content: Content, path: Path) -> None:
    """Write one workbook: FAQ, events and hotlines sheets, plus a short guide sheet."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet, rows in sheet_rows(content).items():
        ws = wb.create_sheet(SHEET_TITLES[sheet])
        cols = COLUMNS[sheet]
        ws.append([label for _, label in cols])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
        for row in rows:
            ws.append(row)
        for idx, (key, _) in enumerate(cols, start=1):
            letter = get_column_letter(idx)
            ws.column_dimensions[letter].width = _WIDTHS.get(key, 20)
            for r in range(2, ws.max_row + 1):
                cell = ws.cell(row=r, column=idx)
                if key in _DATE_FIELDS:
                    cell.number_format = "DD/MM/YYYY"
                elif key == "number":
                    cell.number_format = "@"
                if key in ("answer", "title", "example", "source", "place", "organisation"):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                else:
                    cell.alignment = Alignment(vertical="top")
        ws.freeze_panes = "A2"
        if sheet == HOTLINES:
            for key, formula in (("group", '"khẩn cấp,tư vấn"'), ("default", '"có"')):
                letter = get_column_letter([k for k, _ in cols].index(key) + 1)
                dv = DataValidation(type="list", formula1=formula, allow_blank=True)
                ws.add_data_validation(dv)
                dv.add(f"{letter}2:{letter}500")
            letter = get_column_letter([k for k, _ in cols].index("number") + 1)
            for r in range(ws.max_row + 1, 101):
                ws[f"{letter}{r}"].number_format = "@"
    guide = wb.create_sheet("Hướng dẫn")
    guide.column_dimensions["A"].width = 120
    for line in GUIDE_LINES:
        guide.append([line])
    guide["A1"].font = Font(bold=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def export_csv(content: Content, folder: Path) -> list[Path]:
    """Write faq.csv, events.csv and hotlines.csv (UTF-8 with BOM so Excel shows Vietnamese correctly)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet, rows in sheet_rows(content).items():
        path = folder / CSV_NAMES[sheet]
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow([label for _, label in COLUMNS[sheet]])
            for row in rows:
                writer.writerow([_csv_text(v) for v in row])
        written.append(path)
    return written


# --------------------------------------------------------------------------- reading

@dataclass
class RawSheet:
    """Rows of one sheet as read from the file: (row number, values by column key)."""

    sheet: str
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def _header_keys(sheet: str, header: list[Any], errors_out: list[SheetError]) -> dict[int, str]:
    wanted = {fold(label).strip(): key for key, label in COLUMNS[sheet]}
    wanted.update({key: key for key, _ in COLUMNS[sheet]})
    found: dict[int, str] = {}
    for idx, cell in enumerate(header):
        name = fold(str(cell or "")).strip()
        if name in wanted and wanted[name] not in found.values():
            found[idx] = wanted[name]
    missing = [label for key, label in COLUMNS[sheet] if key in REQUIRED_COLUMNS[sheet] and key not in found.values()]
    for label in missing:
        errors_out.append(SheetError(SHEET_TITLES[sheet], 1, label, "thiếu cột này ở dòng tiêu đề (dòng 1)"))
    return found


def _raw_from_table(sheet: str, table: Iterable[tuple[int, list[Any]]], errors_out: list[SheetError]) -> RawSheet:
    raw = RawSheet(sheet)
    iterator = iter(table)
    try:
        _, header = next(iterator)
    except StopIteration:
        errors_out.append(SheetError(SHEET_TITLES[sheet], None, None, "trang trống (không có dòng tiêu đề)"))
        return raw
    keys = _header_keys(sheet, header, errors_out)
    for number, values in iterator:
        row = {key: values[idx] if idx < len(values) else None for idx, key in keys.items()}
        if all(_text(v) == "" for v in row.values()):
            continue
        raw.rows.append((number, row))
    return raw


def _sheet_for_title(title: str) -> str | None:
    name = fold(title).strip()
    for sheet, label in SHEET_TITLES.items():
        if name in (fold(label), sheet):
            return sheet
    return None


def read_xlsx(path: Path, errors_out: list[SheetError]) -> dict[str, RawSheet]:
    """The FAQ, events and hotlines sheets found in a workbook (other sheets are ignored)."""
    wb = load_workbook(path, data_only=True)
    sheets: dict[str, RawSheet] = {}
    for ws in wb.worksheets:
        sheet = _sheet_for_title(ws.title)
        if sheet is None:
            continue
        table = ((i, list(r)) for i, r in enumerate(ws.iter_rows(values_only=True), start=1))
        sheets[sheet] = _raw_from_table(sheet, table, errors_out)
    return sheets


def _csv_sheet(path: Path, header: list[str]) -> str | None:
    by_name = {v: k for k, v in CSV_NAMES.items()}
    if path.name in by_name:
        return by_name[path.name]
    labels = {fold(h).strip() for h in header}
    for sheet, cols in COLUMNS.items():
        if {fold(label) for key, label in cols if key in REQUIRED_COLUMNS[sheet]} <= labels:
            return sheet
    return None


def read_csv(paths: list[Path], errors_out: list[SheetError]) -> dict[str, RawSheet]:
    """Sheets from CSV files (one per sheet), named faq.csv/events.csv/hotlines.csv or recognised by header."""
    sheets: dict[str, RawSheet] = {}
    for path in paths:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors_out.append(SheetError(path.name, None, None, "tệp không ở dạng UTF-8: trong Excel chọn “Lưu dưới "
                                         "dạng” → “CSV UTF-8 (Comma delimited)”, hoặc dùng tệp .xlsx"))
            continue
        first = text.splitlines()[0] if text.strip() else ""
        delimiter = ";" if first.count(";") > first.count(",") else ","
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        if not records:
            errors_out.append(SheetError(path.name, None, None, "tệp trống"))
            continue
        sheet = _csv_sheet(path, records[0])
        if sheet is None:
            errors_out.append(SheetError(path.name, 1, None, "không nhận ra đây là trang FAQ, Sự kiện hay Đường dây "
                                         "nóng: kiểm tra tên tệp và dòng tiêu đề"))
            continue
        sheets[sheet] = _raw_from_table(sheet, enumerate(records, start=1), errors_out)
    return sheets


# --------------------------------------------------------------------------- parsing rows

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "có" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").strip()


def parse_date(value: Any) -> date | None:
    """A date from a cell: a date value, 2026-11-22 or 22/11/2026; None when it cannot be read."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    match = _DMY_RE.match(text)
    if match:
        try:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        except ValueError:
            return None
    return None


class _RowParser:
    """Collects values and errors for one sheet."""

    def __init__(self, sheet: str, out: list[SheetError]) -> None:
        self.sheet, self.out = sheet, out

    def error(self, row: int | None, key: str | None, message: str) -> None:
        self.out.append(SheetError(SHEET_TITLES[self.sheet], row, _FIELD_LABELS[self.sheet].get(key) if key else None,
                                   message))

    def date(self, row: int, values: dict[str, Any], key: str, required: bool) -> date | None:
        raw = values.get(key)
        if _text(raw) == "":
            if required:
                self.error(row, key, "ô này không được để trống")
            return None
        parsed = parse_date(raw)
        if parsed is None:
            self.error(row, key, f"“{_text(raw)}” không phải ngày hợp lệ: ghi 22/11/2026 hoặc 2026-11-22")
        return parsed

    def text(self, values: dict[str, Any], key: str) -> str | None:
        value = _text(values.get(key))
        return value or None


@dataclass
class ParsedFAQ:
    """Topics read from the FAQ sheet, with where each value came from (for error locations)."""

    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    field_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    example_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    first_row: dict[str, int] = field(default_factory=dict)


def parse_faq(raw: RawSheet, out: list[SheetError]) -> ParsedFAQ:
    """Group example rows by topic; topic fields may be given once (on any row of the topic)."""
    p = _RowParser(FAQ, out)
    parsed = ParsedFAQ()
    for number, values in raw.rows:
        name = _text(values.get("topic"))
        if not name:
            p.error(number, "topic", "thiếu mã chủ đề")
            continue
        if not TOPIC_NAME_RE.match(name):
            p.error(number, "topic", f"mã chủ đề “{name}” chỉ được gồm chữ thường không dấu, số và dấu gạch dưới")
            continue
        topic = parsed.topics.setdefault(name, {"topic": name, "examples": []})
        parsed.first_row.setdefault(name, number)
        for key in ("title", "answer", "source", "checked"):
            if _text(values.get(key)) == "":
                continue
            value = p.date(number, values, key, True) if key == "checked" else p.text(values, key)
            if value is None:
                continue
            if key in topic and topic[key] != value:
                p.error(number, key, f"khác với giá trị ở dòng {parsed.field_rows[(name, key)]} của cùng chủ đề; "
                        "chỉ ghi ở một dòng (dòng đầu của chủ đề)")
                continue
            topic[key] = value
            parsed.field_rows.setdefault((name, key), number)
        example = _text(values.get("example"))
        if example:
            topic["examples"].append(example)
            parsed.example_rows.setdefault((name, example), number)
    for name, topic in parsed.topics.items():
        for key in ("title", "answer", "source", "checked"):
            if key not in topic:
                p.error(parsed.first_row[name], key, f"chủ đề {name} chưa có {_FIELD_LABELS[FAQ][key].lower()} "
                        "(ghi ở dòng đầu của chủ đề)")
        parsed.topics[name] = {k: topic[k] for k in TOPIC_ORDER if k in topic}
    return parsed


def parse_events(raw: RawSheet, out: list[SheetError]) -> tuple[list[dict[str, Any]], list[int]]:
    """Events and the sheet row of each."""
    p = _RowParser(EVENTS, out)
    events, rows = [], []
    for number, values in raw.rows:
        event: dict[str, Any] = {}
        for key, _ in COLUMNS[EVENTS]:
            if key in _DATE_FIELDS:
                event[key] = p.date(number, values, key, True)
            else:
                event[key] = p.text(values, key)
        for key in ("title", "province", "source"):
            if event[key] is None:
                p.error(number, key, "ô này không được để trống")
        events.append({k: v for k, v in event.items() if v is not None})
        rows.append(number)
    return events, rows


def parse_hotlines(raw: RawSheet, out: list[SheetError]) -> tuple[dict[str, list[dict[str, Any]]],
                                                                   dict[str, list[int]]]:
    """Emergency and counseling lines, and the sheet row of each."""
    p = _RowParser(HOTLINES, out)
    lines: dict[str, list[dict[str, Any]]] = {g: [] for g in HOTLINE_GROUPS}
    rows: dict[str, list[int]] = {g: [] for g in HOTLINE_GROUPS}
    for number, values in raw.rows:
        group = _GROUP_WORDS.get(fold(_text(values.get("group"))))
        if group is None:
            p.error(number, "group", f"“{_text(values.get('group'))}” không hợp lệ: ghi “khẩn cấp” hoặc “tư vấn”")
            continue
        phone = re.sub(r"[\s.\-()]", "", _text(values.get("number")))
        if phone.startswith("+84"):
            phone = "0" + phone[3:]
        if phone and len(phone) == 9 and phone.isdigit() and not phone.startswith("0"):
            p.error(number, "number", f"“{phone}” thiếu số 0 ở đầu (Excel thường tự bỏ): định dạng ô là Văn bản "
                    "(Text) rồi gõ lại 0" + phone)
        elif phone and not phone.isdigit():
            p.error(number, "number", f"“{_text(values.get('number'))}” chỉ được gồm chữ số")
        default_word = fold(_text(values.get("default")))
        if default_word not in _YES | _NO:
            p.error(number, "default", "ghi “có” cho số tư vấn mặc định, hoặc để trống")
        line: dict[str, Any] = {"number": phone or None, "organisation": p.text(values, "organisation"),
                                "province": p.text(values, "province"), "hours": p.text(values, "hours"),
                                "source": p.text(values, "source"),
                                "checked": p.date(number, values, "checked", True),
                                "default": True if default_word in _YES else None}
        for key in ("number", "organisation", "source"):
            if line[key] is None:
                p.error(number, key, "ô này không được để trống")
        lines[group].append({k: v for k, v in line.items() if v is not None})
        rows[group].append(number)
    return lines, rows


# --------------------------------------------------------------------------- import

@dataclass
class ImportResult:
    """What an import would do: blocking errors, warnings, the planned writes and a summary."""

    errors: list[SheetError] = field(default_factory=list)
    warnings: list[SheetError] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    sheets: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import."""
        return not self.errors


def _locate(problem: Problem, faq: ParsedFAQ | None, event_rows: list[int] | None,
            hotline_rows: dict[str, list[int]] | None, severity: str) -> SheetError:
    """Turn a content-check finding into a sheet/row/column location when the row is known."""
    if problem.area == "faq" and faq is not None and problem.item in faq.topics:
        if problem.example is not None and (problem.item, problem.example) in faq.example_rows:
            row = faq.example_rows[(problem.item, problem.example)]
            column = "example"
        else:
            row = faq.field_rows.get((problem.item, problem.field or ""), faq.first_row[problem.item])
            column = problem.field if problem.field in _FIELD_LABELS[FAQ] else None
        return SheetError(SHEET_TITLES[FAQ], row, _FIELD_LABELS[FAQ].get(column or ""), problem.message, severity)
    if problem.area == "events" and event_rows is not None and problem.item.isdigit() \
            and int(problem.item) <= len(event_rows):
        return SheetError(SHEET_TITLES[EVENTS], event_rows[int(problem.item) - 1],
                          _FIELD_LABELS[EVENTS].get(problem.field or ""), problem.message, severity)
    if problem.area == "hotlines" and hotline_rows is not None:
        group, _, n = problem.item.partition(":")
        row = hotline_rows.get(group, [])[int(n) - 1] if n.isdigit() and int(n) <= len(hotline_rows.get(group, [])) \
            else None
        return SheetError(SHEET_TITLES[HOTLINES], row, _FIELD_LABELS[HOTLINES].get(problem.field or ""),
                          problem.message, severity)
    return SheetError("nội dung", None, None, f"{problem.where()}: {problem.message}", severity)


def import_sheets(sheets: dict[str, RawSheet], content_dir: Path, current: Content, today: date,
                  provinces: Provinces | None, others: list[tuple[str, str]],
                  read_errors: list[SheetError] | None = None, allow_delete: bool = False) -> ImportResult:
    """Validate the sheets row by row and against every content check; plan the writes only if all is valid."""
    result = ImportResult(errors=list(read_errors or []), sheets=[SHEET_TITLES[s] for s in sheets])
    faq = parse_faq(sheets[FAQ], result.errors) if FAQ in sheets else None
    events, event_rows = parse_events(sheets[EVENTS], result.errors) if EVENTS in sheets else (None, None)
    hotlines, hotline_rows = parse_hotlines(sheets[HOTLINES], result.errors) if HOTLINES in sheets else (None, None)
    if faq is not None and not allow_delete:
        for name in current.topics:
            if name not in faq.topics:
                result.errors.append(SheetError(SHEET_TITLES[FAQ], None, "Mã chủ đề", f"chủ đề {name} có trong nội "
                                                "dung nhưng không có trong bảng tính. Nếu thật sự muốn xóa chủ đề "
                                                "này, chạy lại lệnh với --allow-delete"))
    if not sheets and not result.errors:
        result.errors.append(SheetError("tệp", None, None, "không tìm thấy trang FAQ, Sự kiện hay Đường dây nóng"))
    if result.errors:
        return result
    topics = faq.topics if faq is not None else None
    after = with_changes(current, topics, events, hotlines, delete_missing_topics=allow_delete and faq is not None)
    before_problems = check_content(current, today, provinces, others)
    after_problems = check_content(after, today, provinces, others)
    fresh, old = new_problems(before_problems, after_problems)
    for problem in fresh:
        located = _locate(problem, faq, event_rows, hotline_rows, problem.severity)
        (result.errors if problem.severity == "error" else result.warnings).append(located)
    for problem in errors(old):
        result.warnings.append(_locate(problem, faq, event_rows, hotline_rows, "warning"))
    if result.errors:
        return result
    result.plan = plan_changes(content_dir, current, topics, events, hotlines,
                               delete_missing_topics=allow_delete and faq is not None)
    return result


def read_any(path: Path, out: list[SheetError]) -> dict[str, RawSheet]:
    """Read a .xlsx workbook, one .csv file, or a folder of .csv files."""
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            out.append(SheetError(path.name, None, None, "thư mục không có tệp .csv nào"))
        return read_csv(files, out)
    if path.suffix.lower() == ".csv":
        return read_csv([path], out)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            return read_xlsx(path, out)
        except Exception:  # any unreadable workbook is reported to staff, not raised
            out.append(SheetError(path.name, None, None, "không mở được tệp Excel (tệp hỏng hoặc không phải .xlsx)"))
            return {}
    out.append(SheetError(path.name, None, None, "chỉ nhập được tệp .xlsx, .csv hoặc thư mục chứa các tệp .csv"))
    return {}
