"""`python -m bot report --from YYYY-MM-DD --to YYYY-MM-DD [--province NAME] --out DIR`: the campaign results report.

Writes the workbook (.xlsx) and the PDF of the period into DIR and prints their paths (last two lines) after the
summary sentences. The figures are anonymised (bot.reporting); the tracker store is read only.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import tracker_database_url
from bot.content.provinces import Provinces
from bot.reporting.build import make_report
from bot.reporting.conversations import open_tracker
from bot.reporting.figures import question_titles
from bot.reporting.files import write_report
from bot.reporting.tables import Period
from bot.staff.cli.registry import Area, arg
from bot.staff.cli.tool import Tool, parse_day
from bot.timeutil import utcnow


@dataclass
class SingleCommandArea(Area):
    """An area that is itself the command (`python -m bot report --from …`), with no sub-command."""

    def add_to(self, areas: Any) -> None:
        """Add the area with its one command's arguments."""
        command = self.commands[0]
        parser = areas.add_parser(self.name, help=self.help, description=command.help)
        for argument in command.args:
            parser.add_argument(*argument.flags, **argument.options)
        parser.set_defaults(handler=command.handler)


AREA = SingleCommandArea("report", "Báo cáo kết quả chiến dịch (Excel và PDF) / campaign results report")


@AREA.command("report", "Lập báo cáo kết quả cho một khoảng thời gian / write the report of a period",
              arg("--from", dest="start", type=parse_day, required=True, help="ngày đầu / first day (YYYY-MM-DD)"),
              arg("--to", dest="end", type=parse_day, required=True, help="ngày cuối / last day (YYYY-MM-DD)"),
              arg("--province", default=None, help="chỉ một tỉnh, thành phố / one province only"),
              arg("--out", type=Path, required=True, help="thư mục ghi tệp / output folder"))
def report(tool: Tool, args: argparse.Namespace) -> int:
    """Write the workbook and the PDF of the period."""
    province = None
    if args.province:
        province = Provinces.load(tool.content_dir / "provinces.yml").current_of(args.province)
        if province is None:
            tool.warn(f"KHÔNG THỰC HIỆN: không biết tỉnh, thành phố «{args.province}» (xem content/provinces.yml).")
            return 2
    try:
        period = Period(args.start, args.end, province)
    except ValueError as exc:
        tool.warn(f"KHÔNG THỰC HIỆN: {exc}")
        return 2
    provinces = Provinces.load(tool.content_dir / "provinces.yml")
    tracker = open_tracker(tracker_database_url())
    try:
        made = make_report(tool.engine(), tracker, period, provinces, question_titles(tool.content_dir), utcnow())
    finally:
        if tracker is not None:
            tracker.dispose()
    xlsx, pdf = write_report(made, args.out)
    tool.say(f"Báo cáo {period.label()} – {period.place()}:")
    for sentence in made.summary:
        tool.say(f"  • {sentence}")
    tool.say(f"Bảng tính: {xlsx}")
    tool.say(f"PDF: {pdf}")
    return 0
