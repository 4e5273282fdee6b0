"""Reading a .xlsx workbook, one .csv file or a folder of .csv files into raw rows keyed by column.

Nothing is interpreted here beyond finding the sheets and their columns; every unreadable file, sheet or header
becomes a SheetError for staff instead of an exception. A file is refused before it is parsed when it is larger
than MAX_FILE_BYTES (a workbook also when it unpacks to more than MAX_UNPACKED_BYTES), XML is parsed only through
defusedxml (entity expansion and external entities refused), and at most MAX_ROWS rows of MAX_COLUMNS columns are
read per sheet, each cell at most MAX_CELL_CHARS characters.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl import load_workbook

from bot.staff.sheets.cells import from_csv_cell
from bot.staff.sheets.schema import (
    COLUMNS,
    CSV_NAMES,
    FIELD_LABELS,
    REQUIRED_COLUMNS,
    SHEET_TITLES,
    RawSheet,
    SheetError,
    cell_text,
)
from bot.text import fold

MAX_FILE_BYTES = 10 * 1024 * 1024       # the whole content exports to well under 1 MiB
MAX_UNPACKED_BYTES = 50 * 1024 * 1024   # a workbook's parts once unzipped
MAX_ROWS = 10_000                       # data rows per sheet (the FAQ has about 1,100)
MAX_COLUMNS = 50
MAX_CELL_CHARS = 10_000                 # the longest answer is about 1,000 characters


def _vi(number: int) -> str:
    """A number as Vietnamese staff write it (10.000)."""
    return f"{number:,}".replace(",", ".")


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
    for count, (number, values) in enumerate(iterator, start=1):
        if count > MAX_ROWS:
            errors_out.append(SheetError(SHEET_TITLES[sheet], number, None, f"trang có quá nhiều dòng (tối đa "
                                         f"{_vi(MAX_ROWS)} dòng dữ liệu): chia nội dung thành nhiều lần nhập"))
            break
        row = {key: values[idx] if idx < len(values) else None for idx, key in keys.items()}
        for key, value in row.items():
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                errors_out.append(SheetError(SHEET_TITLES[sheet], number, FIELD_LABELS[sheet][key],
                                             f"ô quá dài ({_vi(len(value))} ký tự, tối đa {_vi(MAX_CELL_CHARS)})"))
                row[key] = None
        if all(cell_text(v) == "" for v in row.values()):
            continue
        raw.rows.append((number, row))
    return raw


def _sheet_for_title(title: str) -> str | None:
    name = fold(title).strip()
    for sheet, label in SHEET_TITLES.items():
        if name in (fold(label), sheet):
            return sheet
    return None


def _too_big(path: Path, errors_out: list[SheetError]) -> bool:
    """Refuse (with an error for staff) a file larger than the cap, before anything reads it."""
    if path.stat().st_size <= MAX_FILE_BYTES:
        return False
    errors_out.append(SheetError(path.name, None, None, f"tệp quá lớn (tối đa {_vi(MAX_FILE_BYTES // 1024 // 1024)} "
                                 "MB): chỉ giữ các trang FAQ, Sự kiện và Đường dây nóng"))
    return True


def read_xlsx(path: Path, errors_out: list[SheetError]) -> dict[str, RawSheet]:
    """The FAQ, events and hotlines sheets found in a workbook (other sheets are ignored)."""
    if not openpyxl.DEFUSEDXML:  # openpyxl picks its XML parser when imported; never parse staff files without it
        errors_out.append(SheetError(path.name, None, None, "không thể đọc an toàn tệp Excel: thiếu thư viện "
                                     "defusedxml (báo cho kỹ thuật viên)"))
        return {}
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(item.file_size for item in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        errors_out.append(SheetError(path.name, None, None, "tệp Excel quá lớn khi giải nén (tối đa "
                                     f"{_vi(MAX_UNPACKED_BYTES // 1024 // 1024)} MB)"))
        return {}
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        sheets: dict[str, RawSheet] = {}
        for ws in wb.worksheets:
            sheet = _sheet_for_title(ws.title)
            if sheet is None:
                continue
            rows = ws.iter_rows(values_only=True, max_col=MAX_COLUMNS)
            sheets[sheet] = _raw_from_table(sheet, ((i, list(r)) for i, r in enumerate(rows, start=1)), errors_out)
        return sheets
    finally:
        wb.close()


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
        if _too_big(path, errors_out):
            continue
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors_out.append(SheetError(path.name, None, None, "tệp không ở dạng UTF-8: trong Excel chọn “Lưu dưới "
                                         "dạng” → “CSV UTF-8 (Comma delimited)”, hoặc dùng tệp .xlsx"))
            continue
        first = text.splitlines()[0] if text.strip() else ""
        delimiter = ";" if first.count(";") > first.count(",") else ","
        try:
            records = [[from_csv_cell(v) for v in r]
                       for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
        except csv.Error:
            errors_out.append(SheetError(path.name, None, None, "tệp CSV hỏng (có ký tự không hợp lệ): xuất lại "
                                         "tệp từ Excel hoặc dùng tệp .xlsx"))
            continue
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
        if _too_big(path, out):
            return {}
        try:
            return read_xlsx(path, out)
        except Exception:  # any unreadable workbook is reported to staff, not raised
            out.append(SheetError(path.name, None, None, "không mở được tệp Excel (tệp hỏng hoặc không phải .xlsx)"))
            return {}
    out.append(SheetError(path.name, None, None, "chỉ nhập được tệp .xlsx, .csv hoặc thư mục chứa các tệp .csv"))
    return {}
