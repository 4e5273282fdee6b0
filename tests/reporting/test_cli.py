"""`python -m bot report` end to end, in a child process over the seeded database and tracker store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from bot.staff.cli import main
from bot.staff.cli.tool import Tool
from tests.reporting.seed import seed_all

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
           "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "report", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_command_writes_the_workbook_and_the_pdf(engine, tmp_path: Path) -> None:
    seed_all(engine, tmp_path / "tracker.db")
    out = tmp_path / "bao cao"
    done = _run(tmp_path, "--from", "2026-11-15", "--to", "2026-11-21", "--province", "ha noi", "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    xlsx, pdf = out / "bao-cao-2026-11-15-2026-11-21-ha-noi.xlsx", out / "bao-cao-2026-11-15-2026-11-21-ha-noi.pdf"
    assert lines[0] == "Báo cáo 15/11/2026 – 21/11/2026 – Hà Nội:"
    assert lines[-2:] == [f"Bảng tính: {xlsx}", f"PDF: {pdf}"]
    assert "6 người dân trong 6 cuộc trò chuyện" in done.stdout
    assert pdf.read_bytes().startswith(b"%PDF")
    cases = load_workbook(xlsx)["Ca theo mức độ"]
    assert [c.value for c in cases[2]] == ["Nguy hiểm ngay", 5]  # only Hà Nội's five


def test_bad_input_gets_a_vietnamese_error_and_writes_nothing(engine, tmp_path: Path, capsys) -> None:
    tool = Tool(engine=engine)
    out = tmp_path / "out"
    assert main(["report", "--from", "2026-11-15", "--to", "2026-11-21", "--province", "Atlantis",
                 "--out", str(out)], tool) == 2
    assert "không biết tỉnh, thành phố «Atlantis»" in capsys.readouterr().err
    assert main(["report", "--from", "2026-11-21", "--to", "2026-11-15", "--out", str(out)], tool) == 2
    assert "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu" in capsys.readouterr().err
    assert not out.exists()
