"""The spreadsheet layout (sheets, columns, labels, guide text), how one cell value reads, and the error type.

Export and import share these definitions, so a file written by the export reads back column for column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

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
               ("scope", "Phạm vi"), ("province", "Tỉnh/thành"), ("hours", "Giờ tiếp nhận"), ("default", "Mặc định"),
               ("source", "Nguồn"), ("checked", "Ngày rà soát")],
}
REQUIRED_COLUMNS = {FAQ: {"topic", "example"}, EVENTS: {"title", "date"}, HOTLINES: {"group", "number"}}
GROUP_LABELS = {"emergency": "khẩn cấp", "counseling": "tư vấn"}
SCOPE_LABELS = {"national": "toàn quốc", "province": "tỉnh"}
DATE_FIELDS = {"checked", "date"}
FIELD_LABELS = {sheet: dict(cols) for sheet, cols in COLUMNS.items()}
GUIDE_LINES = [
    "Cách dùng tệp này (xem thêm docs/staff-guide.md)",
    "",
    ("• Trang FAQ: mỗi dòng là một câu hỏi mẫu. Tiêu đề, câu trả lời, nguồn và ngày rà soát chỉ ghi ở dòng đầu "
     "của mỗi chủ đề; các dòng sau chỉ cần mã chủ đề và câu hỏi mẫu."),
    "• Thêm câu hỏi: chèn một dòng, ghi mã chủ đề (cột A) và câu hỏi (cột F).",
    "• Trang Sự kiện: mỗi dòng một sự kiện. Ngày ghi dạng 22/11/2026 hoặc 2026-11-22.",
    "• Trang Đường dây nóng: Loại là “khẩn cấp” hoặc “tư vấn”; đúng một số tư vấn có Mặc định = “có”.",
    ("• Số tư vấn: Phạm vi “toàn quốc” (để trống Tỉnh/thành; trợ lý đưa cho mọi người) hoặc “tỉnh” (ghi Tỉnh/thành; "
     "chỉ đưa cho người dân tỉnh đó). Số mặc định phải là số toàn quốc."),
    "• Số điện thoại chỉ gồm chữ số, giữ số 0 ở đầu (ô đã định dạng Văn bản).",
    "• Sau khi sửa: lưu tệp .xlsx rồi chạy: .venv/bin/python -m bot content import <tệp>.",
    "• Không đổi tên các trang và các cột. Trang này không được nhập lại.",
]
_DMY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


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


@dataclass
class RawSheet:
    """Rows of one sheet as read from the file: (row number, values by column key)."""

    sheet: str
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def cell_text(value: Any) -> str:
    """A cell value as the text staff typed (numbers without .0, midnight datetimes as dates, trimmed)."""
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
    text = cell_text(value)
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
