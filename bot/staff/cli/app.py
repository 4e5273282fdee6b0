"""The staff tool's table of contents: its areas in help order, the parser built from them, and `main`."""

from __future__ import annotations

import argparse

from bot.staff.cli.broadcast import AREA as BROADCAST
from bot.staff.cli.content import AREA as CONTENT
from bot.staff.cli.model import AREA as MODEL
from bot.staff.cli.report import AREA as REPORT
from bot.staff.cli.review import AREA as REVIEW
from bot.staff.cli.tool import Tool
from bot.staff.cli.topics import AREA as TOPIC

AREAS = (CONTENT, TOPIC, MODEL, REVIEW, BROADCAST, REPORT)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the whole tool."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Công cụ cho cán bộ: sửa nội dung, kiểm tra, huấn luyện, nạp mô hình, hàng đợi xem xét. / "
                    "Staff tool: edit content, check, train, deploy the model, review queue.",
        epilog="Hướng dẫn từng bước / step-by-step guide: docs/staff-guide.md")
    sub = parser.add_subparsers(dest="area", required=True,
                                metavar="{" + ",".join(area.name for area in AREAS) + "}")
    for area in AREAS:
        area.add_to(sub)
    return parser


def main(argv: list[str] | None = None, tool: Tool | None = None) -> int:
    """Parse the arguments and run the command."""
    args = build_parser().parse_args(argv)
    return (tool or Tool()).run(args)
