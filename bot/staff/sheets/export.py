"""Writing the content as one .xlsx workbook or three .csv files, in the layout that the import reads back.

No exported cell is ever a formula, whatever the text (see `bot.staff.sheets.cells`).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from bot.staff.sheets.cells import QUOTE, carried, csv_cell, looks_like_formula
from bot.staff.sheets.schema import (
    COLUMNS,
    CSV_NAMES,
    DATE_FIELDS,
    EVENTS,
    FAQ,
    GROUP_LABELS,
    GUIDE_LINES,
    HOTLINES,
    SCOPE_LABELS,
    SHEET_TITLES,
)
from bot.staff.store import HOTLINE_GROUPS, Content

_WIDTHS = {"topic": 28, "title": 40, "answer": 80, "source": 40, "checked": 14, "example": 55, "province": 18,
           "district": 22, "date": 14, "time": 10, "place": 36, "group": 12, "number": 16, "organisation": 45,
           "hours": 22, "default": 11, "scope": 12}
_WRAPPED = ("answer", "title", "example", "source", "place", "organisation")


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
            values = {**h, "group": GROUP_LABELS[group], "default": "có" if h.get("default") else None,
                      "scope": SCOPE_LABELS.get(h.get("scope"), h.get("scope"))}
            rows.append([values.get(k) for k, _ in COLUMNS[HOTLINES]])
    return rows


def sheet_rows(content: Content) -> dict[str, list[list[Any]]]:
    """The data rows of every sheet (without the header)."""
    return {FAQ: _faq_rows(content), EVENTS: _event_rows(content), HOTLINES: _hotline_rows(content)}


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
            ws.append([carried(v) if isinstance(v, str) else v for v in row])
        for idx, (key, _) in enumerate(cols, start=1):
            letter = get_column_letter(idx)
            ws.column_dimensions[letter].width = _WIDTHS.get(key, 20)
            for r in range(2, ws.max_row + 1):
                cell = ws.cell(row=r, column=idx)
                _as_text(cell)
                if key in DATE_FIELDS:
                    cell.number_format = "DD/MM/YYYY"
                elif key == "number":
                    cell.number_format = "@"
                if key in _WRAPPED:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                else:
                    cell.alignment = Alignment(vertical="top")
        ws.freeze_panes = "A2"
        if sheet == HOTLINES:
            for key, formula in (("group", '"khẩn cấp,tư vấn"'), ("default", '"có"'), ("scope", '"toàn quốc,tỉnh"')):
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


def _as_text(cell: Cell) -> None:
    """Keep a text cell text: openpyxl makes any string starting with `=` a formula."""
    if not isinstance(cell.value, str):
        return
    cell.data_type = "s"
    if looks_like_formula(cell.value) or cell.value.startswith(QUOTE):
        cell.quotePrefix = True


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return csv_cell(value)


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
