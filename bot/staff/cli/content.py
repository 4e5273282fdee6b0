"""`python -m bot content …`: generate training data, check the content, export and import spreadsheets."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.content import faq
from bot.staff.checks import check_content, errors, other_nlu_examples
from bot.staff.cli.registry import Area, arg
from bot.staff.cli.tool import Tool, parse_day
from bot.staff.sheets import SheetError, export_csv, export_xlsx, import_sheets, read_any
from bot.staff.store import load_content
from bot.staff.topics import load_provinces

AREA = Area("content", "Nội dung: kiểm tra, xuất/nhập Excel / content: check, export, import")


@AREA.command("build", "Sinh dữ liệu huấn luyện từ content/faq / generate training data from content/faq")
def build(tool: Tool, args: argparse.Namespace) -> int:
    """Regenerate data/nlu/faq.yml and domain/faq.yml."""
    for path in faq.build(tool.content_dir, tool.root):
        tool.say(f"đã cập nhật / updated: {path.relative_to(tool.root)}")
    return 0


@AREA.command("check-built", "Kiểm tra dữ liệu sinh ra đã cập nhật / check generated files are current")
def check_built(tool: Tool, args: argparse.Namespace) -> int:
    """Fail when the generated files are stale."""
    if not faq.is_built(tool.content_dir, tool.root):
        tool.warn("data/nlu/faq.yml hoặc domain/faq.yml chưa khớp content/faq: chạy `make content`. "
                  "Generated FAQ files are stale: run `make content`.")
        return 1
    return 0


@AREA.command("check", "Kiểm tra toàn bộ nội dung / run every content check",
              arg("--today", type=parse_day, help="ngày dùng để so (mặc định hôm nay) / date to check against"))
def check(tool: Tool, args: argparse.Namespace) -> int:
    """Run every content check and print the findings."""
    content = load_content(tool.content_dir)
    problems = check_content(content, args.today or tool.today, load_provinces(tool.content_dir),
                             other_nlu_examples(tool.nlu_dir))
    for problem in problems:
        tool.say(problem.line())
    n_err = len(errors(problems))
    n_warn = len(problems) - n_err
    tool.say(f"Đã kiểm tra {len(content.topics)} chủ đề, {len(content.events)} sự kiện, "
             f"{sum(len(v) for v in content.hotlines.values())} số điện thoại.")
    if n_err:
        tool.say(f"KHÔNG ĐẠT: {n_err} lỗi, {n_warn} cảnh báo. Sửa các lỗi rồi kiểm tra lại.")
        return 1
    tool.say("ĐẠT: không có lỗi" + (f" ({n_warn} cảnh báo)." if n_warn else "."))
    return 0


@AREA.command("export", "Xuất ra .xlsx hoặc thư mục .csv / export to .xlsx or a folder of .csv",
              arg("path", nargs="?", default=None,
                  help="tệp .xlsx, hoặc thư mục khi dùng --csv (mặc định var/noi-dung.xlsx) / output file or folder"),
              arg("--csv", action="store_true", help="xuất thành các tệp .csv / write CSV files"))
def export(tool: Tool, args: argparse.Namespace) -> int:
    """Write the spreadsheet(s)."""
    content = load_content(tool.content_dir)
    if content.load_errors:
        for label, message in content.load_errors:
            tool.warn(f"LỖI content/{label}: {message}")
        return 1
    path = Path(args.path) if args.path else tool.root / "var" / ("noi-dung" if args.csv else "noi-dung.xlsx")
    if args.csv:
        folder = path if path.suffix.lower() != ".xlsx" else path.with_suffix("")
        for written in export_csv(content, folder):
            tool.say(f"Đã xuất: {written}")
    else:
        if path.suffix.lower() != ".xlsx":
            path = path.with_suffix(".xlsx")
        export_xlsx(content, path)
        tool.say(f"Đã xuất: {path.resolve()}")
    tool.say(f"Gồm {len(content.topics)} chủ đề FAQ, {len(content.events)} sự kiện, "
             f"{sum(len(v) for v in content.hotlines.values())} số điện thoại.")
    return 0


@AREA.command("import", "Nhập lại từ .xlsx/.csv (chỉ ghi khi mọi dòng hợp lệ) / "
                        "import .xlsx/.csv (writes only if every row is valid)",
              arg("path", nargs="?", default=None,
                  help="tệp .xlsx, tệp .csv hoặc thư mục chứa .csv (mặc định var/noi-dung.xlsx) / "
                       ".xlsx file, .csv file or folder"),
              arg("--dry-run", action="store_true", help="chỉ kiểm tra, không ghi / validate only"),
              arg("--allow-delete", action="store_true",
                  help="cho phép xóa chủ đề không có trong bảng tính / delete topics missing from the sheet"),
              arg("--today", type=parse_day, help=argparse.SUPPRESS))
def import_(tool: Tool, args: argparse.Namespace) -> int:
    """Validate a spreadsheet and write the content only if it is entirely valid."""
    path = Path(args.path) if args.path else tool.root / "var" / "noi-dung.xlsx"
    if not path.exists():
        tool.warn(f"LỖI: không tìm thấy {path}")
        return 1
    read_errors: list[SheetError] = []
    sheets = read_any(path, read_errors)
    current = load_content(tool.content_dir)
    result = import_sheets(sheets, tool.content_dir, current, args.today or tool.today,
                           load_provinces(tool.content_dir), other_nlu_examples(tool.nlu_dir), read_errors,
                           allow_delete=args.allow_delete)
    if result.sheets:
        tool.say("Đã đọc các trang: " + ", ".join(result.sheets))
    for warning in result.warnings:
        tool.say(warning.line())
    if not result.ok:
        for error in result.errors:
            tool.say(error.line())
        tool.say(f"KHÔNG NHẬP: {len(result.errors)} lỗi. Chưa có gì bị thay đổi. "
                 "Sửa các ô được nêu trong tệp rồi nhập lại.")
        return 1
    if result.plan.empty():
        tool.say("Không có gì thay đổi so với nội dung hiện tại.")
        return 0
    for written in result.plan.writes:
        tool.say(f"{'Sẽ cập nhật' if args.dry_run else 'Đã cập nhật'}: {written.relative_to(tool.content_dir.parent)}")
    for deleted in result.plan.deletes:
        tool.say(f"{'Sẽ xóa' if args.dry_run else 'Đã xóa'}: {deleted.relative_to(tool.content_dir.parent)}")
    if args.dry_run:
        tool.say("Chạy thử: chưa ghi gì (bỏ --dry-run để ghi).")
        return 0
    result.plan.apply()
    tool.say("XONG. Bước tiếp theo: `make train` để huấn luyện lại, rồi `make deploy-model`.")
    return 0
