"""The report's files from the seeded database: the workbook re-read with openpyxl, the PDF turned into images with
pypdfium2 (page count, not blank; pages saved under results/report/ to be looked at), nothing that names a resident."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook
from PIL import Image, ImageStat

from bot.reporting.charts import chart_png
from bot.reporting.files import base_name, write_report
from bot.reporting.tables import Period, Table
from bot.reporting.workbook import SUMMARY_SHEET
from tests.reporting.seed import HANOI, PERIOD, SENDER_SECRET, seed_all
from tests.reporting.test_figures import build

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "results" / "report"  # git-ignored


@pytest.fixture
def files(engine, tmp_path: Path, library) -> tuple[Path, Path]:
    seed_all(engine, tmp_path / "tracker.db")
    return write_report(build(engine, tmp_path / "tracker.db", library), tmp_path / "out")


def test_file_names_are_plain_ascii() -> None:
    assert base_name(PERIOD) == "bao-cao-2026-11-15-2026-11-21"
    assert base_name(Period(PERIOD.start, PERIOD.end, "Thừa Thiên Huế")) == "bao-cao-2026-11-15-2026-11-21-thua-thien-hue"


def test_the_workbook_has_one_sheet_per_table_with_numbers_and_hidden_small_counts(files) -> None:
    xlsx, _ = files
    assert xlsx.name == "bao-cao-2026-11-15-2026-11-21.xlsx" and oct(xlsx.stat().st_mode & 0o777) == "0o600"
    book = load_workbook(xlsx)
    assert book.sheetnames[0] == SUMMARY_SHEET and len(book.sheetnames) == 16
    assert all(len(name) <= 31 for name in book.sheetnames)
    assert {"Người dân theo kênh", "Câu hỏi theo chủ đề", "Ca theo mức độ", "Thời gian nhận ca", "Tin đã gửi",
            "Lý do bỏ qua", "Thăm dò ý kiến"} <= set(book.sheetnames)
    summary = book[SUMMARY_SHEET]
    assert summary["B2"].value == "15/11/2026 – 21/11/2026" and summary["B3"].value == "Tất cả các tỉnh, thành phố"
    sheet = book["Người dân theo kênh"]
    assert [c.value for c in sheet[1]] == ["Kênh", "Số người dân", "Số cuộc trò chuyện"]
    assert [c.value for c in sheet[2]] == ["Zalo", 6, 6]                 # numbers stay numbers for Excel
    assert [c.value for c in sheet[4]] == ["Telegram", "<5", "<5"]       # small counts are text
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["A"].width >= len("Web (REST)")
    urgency = book["Ca theo mức độ"]
    assert [[c.value for c in row] for row in urgency.iter_rows(min_row=2, max_row=4)] == [
        ["Nguy hiểm ngay", 7], ["Cần hỗ trợ", 5], ["Tất cả", 12]]


def _everything_as_text(xlsx: Path, pdf: Path) -> str:
    with zipfile.ZipFile(xlsx) as z:
        xml = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    document = pdfium.PdfDocument(str(pdf))
    pages = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    return xml + pages


def test_nothing_names_a_resident(files) -> None:
    text = _everything_as_text(*files)
    assert "Zalo" in text and "Nguy hiểm ngay" in text  # the PDF's text layer is readable Vietnamese
    for secret in (SENDER_SECRET, "secret-sender", "0912345678", "chị Hoa", "Chồng tôi đánh", "tôi buồn"):
        assert secret not in text


def test_the_pdf_renders_to_readable_pages(files) -> None:
    _, pdf = files
    document = pdfium.PdfDocument(str(pdf))
    assert 6 <= len(document) <= 30
    IMAGES.mkdir(parents=True, exist_ok=True)
    for old in IMAGES.glob("page-*.png"):
        old.unlink()
    for index in range(len(document)):
        image = document[index].render(scale=1.4).to_pil()
        spread = ImageStat.Stat(image.convert("L")).stddev[0]
        assert spread > 5, f"page {index + 1} looks blank"
        image.save(IMAGES / f"page-{index + 1:02d}.png")
    first = document[0].get_textpage().get_text_range()
    assert "Báo cáo kết quả truyền thông" in first and "15/11/2026 – 21/11/2026" in first
    assert "Ngày lập báo cáo: 22/11/2026" in first
    assert (IMAGES / "page-01.png").exists() and (IMAGES / "page-03.png").exists()


def test_a_province_report_names_it_on_the_title_page(engine, tmp_path: Path, library) -> None:
    _, pdf = write_report(build(engine, tmp_path / "none.db", library, Period(PERIOD.start, PERIOD.end, HANOI)),
                          tmp_path)
    assert pdf.name.endswith("-ha-noi.pdf")
    assert f"Địa bàn: {HANOI}" in pdfium.PdfDocument(str(pdf))[0].get_textpage().get_text_range()


def _bar_pixels(table: Table) -> int:
    png = chart_png(table)
    assert png is not None
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in image.getdata() if abs(r - 47) < 8 and abs(g - 111) < 8 and abs(b - 159) < 8)


def test_a_chart_never_draws_a_small_count_as_a_number() -> None:
    def chart(value: int | str) -> Table:
        return Table("t", "t", "Ca theo kênh", ("Kênh", "Số ca"), (("Zalo", 12), ("Telegram", value)), chart="bar")
    hidden, empty, five = _bar_pixels(chart("<5")), _bar_pixels(chart(0)), _bar_pixels(chart(5))
    assert hidden == empty > 1000   # "<5" gets no bar at all (only the grey text "<5")
    assert five > hidden + 1000     # a shown 5 is a bar
    assert chart_png(Table("t", "t", "x", ("a", "b"), (("A", 0), ("B", 0)), chart="bar")) is None
