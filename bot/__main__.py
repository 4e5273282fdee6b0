"""Command-line tool: `python -m bot --help`."""

from __future__ import annotations

import argparse
import sys

from bot.config import CONTENT_DIR, ROOT


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bot`."""
    parser = argparse.ArgumentParser(prog="python -m bot",
                                     description="Công cụ quản lý nội dung trợ lý / Content tool of the assistant")
    sub = parser.add_subparsers(dest="area", required=True)
    content = sub.add_parser("content", help="Nội dung FAQ / FAQ content")
    csub = content.add_subparsers(dest="command", required=True)
    csub.add_parser("build", help="Sinh dữ liệu huấn luyện từ content/faq / generate training data from content/faq")
    csub.add_parser("check-built", help="Kiểm tra dữ liệu sinh ra đã cập nhật / check generated files are current")
    args = parser.parse_args(argv)

    from bot.content import faq

    if args.command == "build":
        for path in faq.build(CONTENT_DIR, ROOT):
            print(f"đã cập nhật / updated: {path.relative_to(ROOT)}")
        return 0
    if args.command == "check-built":
        if not faq.is_built(CONTENT_DIR, ROOT):
            print("data/nlu/faq.yml hoặc domain/faq.yml chưa khớp content/faq: chạy `make content`. "
                  "Generated FAQ files are stale: run `make content`.", file=sys.stderr)
            return 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
