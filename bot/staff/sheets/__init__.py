"""Spreadsheet export and import (.xlsx and .csv) of the FAQ, the events calendar and the hotlines.

`schema` holds the layout, `export` writes it, `read` reads files into raw rows, `parse` turns rows into content
and `importer` validates the whole file before planning any write. This package exposes what the staff tools use.
"""

from bot.staff.sheets.export import export_csv, export_xlsx, sheet_rows
from bot.staff.sheets.importer import ImportResult, import_sheets
from bot.staff.sheets.read import read_any, read_csv, read_xlsx
from bot.staff.sheets.schema import COLUMNS, SHEET_TITLES, RawSheet, SheetError, parse_date

__all__ = ["COLUMNS", "SHEET_TITLES", "ImportResult", "RawSheet", "SheetError", "export_csv", "export_xlsx",
           "import_sheets", "parse_date", "read_any", "read_csv", "read_xlsx", "sheet_rows"]
