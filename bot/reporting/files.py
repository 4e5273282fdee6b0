"""Writing a report to a folder: `bao-cao-<from>-<to>[-<province>].xlsx` and `.pdf`, private to their owner.

The files are written whole to a temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bot.reporting.pdf import pdf_bytes
from bot.reporting.tables import Period, Report
from bot.reporting.workbook import workbook_bytes
from bot.text import fold


def base_name(period: Period) -> str:
    """The file name of a period's report, without extension (ASCII, e.g. `bao-cao-2026-11-15-2026-12-15-ha-noi`)."""
    name = f"bao-cao-{period.start.isoformat()}-{period.end.isoformat()}"
    if period.province:
        name += "-" + re.sub(r"[^a-z0-9]+", "-", fold(period.province)).strip("-")
    return name


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    """Write the workbook and the PDF into `out_dir` (created if missing); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = base_name(report.period)
    xlsx, pdf = out_dir / f"{base}.xlsx", out_dir / f"{base}.pdf"
    _write(xlsx, workbook_bytes(report))
    _write(pdf, pdf_bytes(report))
    return xlsx, pdf
