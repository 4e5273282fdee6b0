"""What a campaign report is made of: the period, tables of already-suppressed cells, and the labels staff read.

Guarantee: a count enters a `Table` only through `cell`, which applies bot.cases.outcomes.shown (the one rule:
1 to 4 becomes "<5"); the workbook, the PDF, the charts and the console page only ever see these cells, so no
renderer can show a small count. Nothing here holds a sender id, a name or a message text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.cases.models import DANGER_NOW, NEEDS_SUPPORT
from bot.cases.outcomes import SMALL, shown
from bot.timeutil import UTC, VN_TZ

Cell = int | str | None  # a shown count (int ≥ 5 or 0, or "<5"), a label, a duration text, or empty
SUPPRESSED = f"<{SMALL}"
MAX_SHEET_NAME = 31  # Excel's limit

CHANNEL_LABELS = {"zalo": "Zalo", "messenger": "Messenger", "telegram": "Telegram", "rest": "Web (REST)"}
URGENCY_LABELS = {DANGER_NOW: "Nguy hiểm ngay", NEEDS_SUPPORT: "Cần hỗ trợ"}


def cell(count: int) -> int | str:
    """A count as every part of the report shows it: 0, "<5" for 1 to 4, else the number (an int, for Excel)."""
    text = shown(int(count))
    return int(text) if text.isdigit() else text


def is_suppressed(value: Cell) -> bool:
    """True for a count hidden by the small-count rule."""
    return value == SUPPRESSED


def spoken(value: Cell) -> str:
    """A cell inside a sentence: "<5" reads "dưới 5"."""
    return f"dưới {SMALL}" if is_suppressed(value) else str(value)


def channel_label(channel: str | None) -> str:
    """The name staff know a channel by."""
    return CHANNEL_LABELS.get(channel or "", channel or "Không rõ")


@dataclass(frozen=True)
class Period:
    """Whole days in Vietnam time, `start` to `end` inclusive, optionally one province (canonical name)."""

    start: date
    end: date
    province: str | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("Ngày kết thúc phải sau hoặc bằng ngày bắt đầu.")

    @property
    def lo(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=VN_TZ).astimezone(UTC)

    @property
    def hi(self) -> datetime:
        """The first instant after the period (UTC)."""
        return self.lo + timedelta(days=(self.end - self.start).days + 1)

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def label(self) -> str:
        """`15/11/2026 – 15/12/2026`."""
        return f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"

    def place(self) -> str:
        """The province, or every province."""
        return self.province or "Tất cả các tỉnh, thành phố"


@dataclass(frozen=True)
class Table:
    """One table of the report: one sheet of the workbook, one section of the PDF, optionally one chart.

    `chart` names the column drawn against the first one ("bar": vertical, "barh": horizontal, None: no chart).
    """

    key: str
    sheet: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    chart: str | None = None
    chart_column: int = 1

    def __post_init__(self) -> None:
        if len(self.sheet) > MAX_SHEET_NAME:
            raise ValueError(f"sheet name over {MAX_SHEET_NAME} characters: {self.sheet}")
        if any(len(row) != len(self.headers) for row in self.rows):
            raise ValueError(f"table {self.key}: a row does not match the header")

    def column(self, index: int) -> list[Cell]:
        """The values of one column, top to bottom."""
        return [row[index] for row in self.rows]

    def as_dict(self) -> dict[str, Cell]:
        """First column → chart column (for two-column tables)."""
        return {str(row[0]): row[self.chart_column] for row in self.rows}


@dataclass(frozen=True)
class Report:
    """The whole report: its period, when it was made, summary sentences and the tables in reading order."""

    period: Period
    made_at: datetime
    summary: tuple[str, ...]
    tables: tuple[Table, ...] = field(default_factory=tuple)

    def table(self, key: str) -> Table:
        """The table with this key (KeyError when absent)."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    def title(self) -> str:
        """The report's title line."""
        return "Báo cáo kết quả truyền thông – Tháng hành động vì bình đẳng giới"
