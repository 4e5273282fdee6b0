"""The report as a PDF to attach to the official report: title page, summary, then each table and its chart.

Text is set in DejaVu Sans (embedded, every Vietnamese letter), A4 portrait; wide tables (many columns) get a
landscape page. Only cells of the `Report` are printed, so the small-count rule holds here too.
"""

from __future__ import annotations

import io
import re
import unicodedata

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.reporting.charts import chart_png, font_path
from bot.reporting.tables import Cell, Report, Table
from bot.timeutil import VN_TZ

FONT = "DejaVu"
WIDE = 6  # tables with more columns than this get a landscape page
ORGANISATION = "Hội Liên hiệp Phụ nữ Việt Nam"


NUMBERISH = re.compile(r"[\d.,]+%?|<5|—|\d+ (giờ|phút|giây).*")


def _align(table: Table) -> tuple[str, ...]:
    """Numbers (and "<5", times, shares) right, words left."""
    return tuple("RIGHT" if i and all(v is None or isinstance(v, int) or NUMBERISH.fullmatch(str(v))
                                      for v in table.column(i)) else "LEFT" for i in range(len(table.headers)))


def _chart_height(pdf: FPDF, png: bytes | None) -> float:
    """The height (mm) of a chart drawn across the page (0 without one)."""
    if png is None:
        return 0.0
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # PNG's IHDR
    return pdf.epw * height / width + 2


def _text(value: Cell) -> str:
    return unicodedata.normalize("NFC", "" if value is None else str(value))


class _Document(FPDF):
    """A4 with the report's footer (page number)."""

    def footer(self) -> None:
        """Page number, bottom centre."""
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 6, f"Trang {self.page_no()}/{{nb}}", align="C")


def _new() -> _Document:
    pdf = _Document(orientation="P", unit="mm", format="A4")
    pdf.add_font(FONT, "", str(font_path()))
    pdf.add_font(FONT, "B", str(font_path(bold=True)))
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(18, 16, 18)
    pdf.alias_nb_pages()
    return pdf


def _title_page(pdf: _Document, report: Report) -> None:
    pdf.add_page()
    pdf.set_y(70)
    pdf.set_font(FONT, size=12)
    pdf.multi_cell(0, 7, ORGANISATION.upper(), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    pdf.set_font(FONT, "B", 20)
    pdf.multi_cell(0, 10, report.title(), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(10)
    pdf.set_font(FONT, size=13)
    made = report.made_at.astimezone(VN_TZ)
    for line in (f"Thời gian: {report.period.label()}", f"Địa bàn: {report.period.place()}",
                 f"Ngày lập báo cáo: {made:%d/%m/%Y}"):
        pdf.multi_cell(0, 8, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(20)
    pdf.set_font(FONT, size=9)
    pdf.multi_cell(0, 5, "Số liệu ẩn danh, lấy tự động từ trợ lý trả lời tự động và bàn tư vấn. Mọi số từ 1 đến 4 "
                         "được ghi là «<5».", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _summary_page(pdf: _Document, report: Report) -> None:
    pdf.add_page()
    pdf.set_font(FONT, "B", 15)
    pdf.cell(0, 10, "Tóm tắt", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=11)
    for sentence in report.summary:
        pdf.multi_cell(0, 6.5, f"• {_text(sentence)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)


def _table(pdf: _Document, table: Table, after_wide: bool) -> bool:
    """One table, its note and chart; True when it took a landscape page."""
    wide = len(table.headers) > WIDE
    png = chart_png(table)
    chart = _chart_height(pdf, png)
    needed = 7 + 6.5 * (len(table.rows) + 1) + (9 if table.note else 0) + chart
    if wide:
        pdf.add_page(orientation="L")
    elif after_wide or (pdf.get_y() + needed > pdf.h - 20 and needed < pdf.h - 40):
        pdf.add_page(orientation="P")  # keep a table with its chart when they fit on one page
    else:
        pdf.ln(6)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(0, 7, _text(table.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=8 if wide else 9)
    if not table.rows:
        pdf.multi_cell(0, 6, "Không có số liệu trong kỳ.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        first = 3 if len(table.headers) <= 3 else 2
        widths = (first, *([1] * (len(table.headers) - 1)))
        if table.key == "broadcasts":
            widths = (1, 1.6, 4, 1.4, 1.6, 1.6, 1.3, 1.2, 1.2, 1, 1.2)
        with pdf.table(col_widths=widths, text_align=_align(table),
                       line_height=5, padding=1.2, first_row_as_headings=True) as grid:
            grid.row([_text(h) for h in table.headers])
            for row in table.rows:
                grid.row([_text(v) for v in row])
    if table.note:
        pdf.set_font(FONT, size=8)
        pdf.multi_cell(0, 4.5, _text(table.note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if png is not None:
        if pdf.get_y() + chart > pdf.h - 20:
            pdf.add_page(orientation="P")
        pdf.ln(2)
        pdf.image(io.BytesIO(png), w=pdf.epw)
    return wide


def pdf_bytes(report: Report) -> bytes:
    """The PDF file of the report."""
    pdf = _new()
    pdf.set_title(report.title())
    pdf.set_author(ORGANISATION)
    pdf.set_creator("Trợ lý Tháng hành động")
    _title_page(pdf, report)
    _summary_page(pdf, report)
    pdf.add_page()
    wide = False
    for table in report.tables:
        wide = _table(pdf, table, wide)
    return bytes(pdf.output())
