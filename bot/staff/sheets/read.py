"""Reading a .xlsx workbook, one .csv file or a folder of .csv files into raw rows keyed by column.

Nothing is interpreted here beyond finding the sheets and their columns; every unreadable file, sheet or header
becomes a SheetError for staff instead of an exception.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from bot.staff.sheets.schema import (
    COLUMNS,
    CSV_NAMES,
    REQUIRED_COLUMNS,
    SHEET_TITLES,
    RawSheet,
    SheetError,
    cell_text,
)
from bot.text import fold


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
