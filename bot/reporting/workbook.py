"""The report as an Excel workbook: a summary sheet, then one sheet per table (header row, widths, frozen header).

Counts shown as numbers are numbers in Excel (staff add them up); "<5" stays text. Sheet names are the tables'
Vietnamese names (at most 31 characters, checked by `Table`).
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.reporting.tables import Report, Table
from bot.timeutil import VN_TZ

SUMMARY_SHEET = "Tóm tắt"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)
MAX_WIDTH = 70


def _widths(sheet: Worksheet) -> None:
    """Fit every column to its longest value (within MAX_WIDTH)."""
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for c in row:
            if c.value is not None:
                widths[c.column] = max(widths.get(c.column, 0), len(str(c.value)))
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, width + 3)


def _summary(sheet: Worksheet, report: Report) -> None:
    sheet.append([report.title()])
    sheet["A1"].font = Font(bold=True, size=14)
    made = report.made_at.astimezone(VN_TZ)
    for label, value in (("Thời gian", report.period.label()), ("Địa bàn", report.period.place()),
                         ("Ngày lập", f"{made:%d/%m/%Y %H:%M}")):
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = BOLD
    sheet.append([])
    for sentence in report.summary:
        sheet.append([sentence])
        sheet.cell(sheet.max_row, 1).alignment = Alignment(wrap_text=False)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 40


def _table(sheet: Worksheet, table: Table) -> None:
    sheet.append(list(table.headers))
    for c in sheet[1]:
        c.font, c.fill = BOLD, HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
    for row in table.rows:
        sheet.append(["" if v is None else v for v in row])
    for row in sheet.iter_rows(min_row=2):
        for c in row:
            if c.value == "<5" or isinstance(c.value, int):
                c.alignment = Alignment(horizontal="right")
    if table.note:
        sheet.append([])
        sheet.append([table.note])
        sheet.cell(sheet.max_row, 1).font = Font(italic=True)
    _widths(sheet)
    if table.note:  # the note may be long: it must not widen the first column
        first = max([len(str(r[0])) for r in table.rows if r] + [len(table.headers[0])])
        sheet.column_dimensions["A"].width = min(MAX_WIDTH, first + 3)
    sheet.freeze_panes = "A2"


def workbook_bytes(report: Report) -> bytes:
    """The .xlsx file of the report."""
    book = Workbook()
    summary = book.active
    summary.title = SUMMARY_SHEET
    _summary(summary, report)
    for table in report.tables:
        _table(book.create_sheet(table.sheet), table)
    book.properties.title = report.title()
    book.properties.creator = "Trợ lý Tháng hành động"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
