"""`python -m bot review …`: the queue of messages the bot could not answer (already masked)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import timedelta

from bot.staff import review
from bot.staff.cli.registry import Area, arg
from bot.staff.cli.tool import Tool

AREA = Area("review", "Hàng đợi tin nhắn chưa trả lời được / review queue")
_TEXT = arg("--text", help="viết lại câu hỏi trước khi thêm / reword the question first")
# The default is read when the command runs (USER of the shell), not when the module is imported.
_BY = arg("--by", default=None, help="tên người xử lý / who handled it")


@AREA.command("list", "Xem các tin nhắn đang chờ / list pending messages", arg("--limit", type=int, default=50))
def list_items(tool: Tool, args: argparse.Namespace) -> int:
    """Pending messages."""
    items = review.list_pending(tool.engine(), args.limit)
    if not items:
        tool.say("Hàng đợi trống: không có tin nhắn nào cần xem.")
        return 0
    tool.say(f"{len(items)} tin nhắn đang chờ (đã che tên, số điện thoại, email):")
    for item in items:
        seen = f"{item['count']} lần" if item["count"] > 1 else "1 lần"
        tool.say(f"  #{item['id']:<5} {item['created_at'][:10]}  {seen:7} {item['reason_label']:18} "
                 f"“{item['text']}”")
    tool.say("Xử lý: `python -m bot review assign <số> <mã chủ đề>`, `… review new-topic <số> <mã> --title … "
             "--answer … --source …`, hoặc `… review dismiss <số>`.")
    return 0


@AREA.command("assign", "Thêm vào chủ đề có sẵn / add to an existing topic as an example",
              arg("id", type=int), arg("topic"), _TEXT, _BY)
def assign(tool: Tool, args: argparse.Namespace) -> int:
    """Add the message as an example of an existing topic."""
    return _act(tool, args, lambda: review.assign(tool.engine(), args.id, args.topic, _actor(args), tool.content_dir,
                                                  tool.nlu_dir, tool.today, text=args.text))


@AREA.command("new-topic", "Tạo chủ đề mới từ tin nhắn / start a new topic from the message",
              arg("id", type=int), arg("topic"), arg("--title", required=True), arg("--answer", required=True),
              arg("--source", required=True), _TEXT, _BY)
def new_topic(tool: Tool, args: argparse.Namespace) -> int:
    """Start a new topic whose first example is the message."""
    return _act(tool, args, lambda: review.create_topic(tool.engine(), args.id, args.topic, args.title, args.answer,
                                                        args.source, _actor(args), tool.content_dir, tool.nlu_dir,
                                                        tool.today, text=args.text))


@AREA.command("dismiss", "Bỏ qua tin nhắn / dismiss", arg("id", type=int), _BY)
def dismiss(tool: Tool, args: argparse.Namespace) -> int:
    """Mark the message as needing no content change."""
    try:
        review.dismiss(tool.engine(), args.id, _actor(args))
    except review.ReviewError as exc:
        tool.say(f"KHÔNG THỰC HIỆN: {exc}")
        return 1
    tool.say(f"Đã bỏ qua mục #{args.id}.")
    return 0


@AREA.command("purge", "Xóa mục đã xử lý quá N ngày / delete handled items older than N days",
              arg("--days", type=int, default=90))
def purge(tool: Tool, args: argparse.Namespace) -> int:
    """Delete old handled items."""
    count = review.purge_handled(tool.engine(), timedelta(days=args.days))
    tool.say(f"Đã xóa {count} mục đã xử lý quá {args.days} ngày.")
    return 0


def _actor(args: argparse.Namespace) -> str:
    return args.by if args.by is not None else os.environ.get("USER", "staff")


def _act(tool: Tool, args: argparse.Namespace, action: Callable[[], review.ReviewOutcome]) -> int:
    """Run an assign / new-topic action and print what it wrote."""
    try:
        outcome = action()
    except review.ReviewError as exc:
        tool.say(f"KHÔNG THỰC HIỆN: {exc}")
        return 1
    for warning in outcome.warnings:
        tool.say(f"Cảnh báo: {warning}")
    for path in outcome.written:
        tool.say(f"Đã lưu: {path.relative_to(tool.content_dir.parent)}")
    tool.say(f"Xong mục #{args.id} → chủ đề {outcome.item['topic']}. Khi đã xử lý xong hàng đợi, chạy "
             "`make train`.")
    return 0
