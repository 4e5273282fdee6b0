"""`python -m bot topic …`: list, show, add and edit FAQ topics, with flags or by answering questions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.staff.checks import TOPIC_NAME_RE
from bot.staff.cli.registry import Area, arg
from bot.staff.cli.tool import Tool, parse_day
from bot.staff.store import load_content
from bot.staff.topics import LENIENT_NEW_TOPIC, SaveRefused, save_topic

AREA = Area("topic", "Chủ đề FAQ: xem, thêm, sửa / FAQ topics: list, show, add, edit")
_NAME_HELP = "mã chủ đề, ví dụ safety_plan / topic id"
_FIELDS = (
    arg("-i", "--interactive", action="store_true", help="hỏi từng mục / prompt for each field"),
    arg("--title", help="tiêu đề / title"),
    arg("--answer", help="câu trả lời / answer"),
    arg("--answer-file", type=Path, help="đọc câu trả lời từ tệp / read the answer from a file"),
    arg("--source", help="nguồn / source"),
    arg("--checked", type=parse_day, help="ngày rà soát (mặc định hôm nay) / review date"),
)


@AREA.command("list", "Liệt kê chủ đề / list topics")
def list_topics(tool: Tool, args: argparse.Namespace) -> int:
    """One line per topic."""
    content = load_content(tool.content_dir)
    tool.say(f"{'Mã chủ đề':32} {'Số câu':>6}  {'Rà soát':10}  Tiêu đề")
    for name, topic in content.topics.items():
        checked = topic.get("checked")
        tool.say(f"{name:32} {len(topic.get('examples') or []):>6}  {checked or '—'!s:10}  "
                 f"{topic.get('title') or ''}")
    tool.say(f"Tổng cộng {len(content.topics)} chủ đề.")
    return 0


@AREA.command("show", "Xem một chủ đề / show one topic", arg("name"))
def show(tool: Tool, args: argparse.Namespace) -> int:
    """Print one topic."""
    topic = load_content(tool.content_dir).topics.get(args.name)
    if topic is None:
        tool.warn(f"LỖI: không có chủ đề “{args.name}” (xem: python -m bot topic list)")
        return 1
    tool.say(f"Mã chủ đề: {args.name}\nTiêu đề: {topic.get('title')}\nNguồn: {topic.get('source')}\n"
             f"Ngày rà soát: {topic.get('checked')}\nCâu trả lời:\n{topic.get('answer')}\n"
             f"Câu hỏi mẫu ({len(topic.get('examples') or [])}):")
    for example in topic.get("examples") or []:
        tool.say(f"  - {example}")
    return 0


@AREA.command("add", "Thêm chủ đề mới / add a topic",
              arg("name", nargs="?", help=_NAME_HELP), *_FIELDS,
              arg("--example", action="append", default=[], help="câu hỏi mẫu (lặp lại được) / example"))
def add(tool: Tool, args: argparse.Namespace) -> int:
    """Create a topic (flags or interactive)."""
    current = load_content(tool.content_dir)
    if args.name and args.name in current.topics:
        tool.warn(f"LỖI: chủ đề “{args.name}” đã có; dùng `topic edit`.")
        return 1
    values = {"topic": args.name, "title": args.title, "answer": _answer(args), "source": args.source,
              "checked": args.checked or tool.today, "examples": [e.strip() for e in args.example if e.strip()]}
    if args.interactive:
        answered = _interactive(tool, args.name, values)
        if answered is None:
            return 1
        name, values = answered
        if name in current.topics:
            tool.warn(f"LỖI: chủ đề “{name}” đã có; dùng `topic edit`.")
            return 1
    else:
        name = args.name
        missing = [flag for flag, key in (("NAME", "topic"), ("--title", "title"), ("--answer", "answer"),
                                          ("--source", "source")) if not values.get(key)]
        if missing:
            tool.warn("LỖI: thiếu " + ", ".join(missing) + " (hoặc dùng --interactive)")
            return 2
        if not TOPIC_NAME_RE.match(name):
            tool.warn("LỖI: mã chủ đề chỉ gồm chữ thường không dấu, số và dấu gạch dưới")
            return 2
    values["topic"] = name
    return _save(tool, name, values, lenient=True)


@AREA.command("edit", "Sửa chủ đề / edit a topic",
              arg("name", help=_NAME_HELP), *_FIELDS,
              arg("--add-example", action="append", default=[], help="thêm câu hỏi mẫu / add an example"),
              arg("--remove-example", action="append", default=[], help="bỏ câu hỏi mẫu / remove an example"),
              arg("--checked-today", action="store_true", help="đặt ngày rà soát là hôm nay / reviewed today"))
def edit(tool: Tool, args: argparse.Namespace) -> int:
    """Change fields or examples of a topic (flags or interactive)."""
    current = load_content(tool.content_dir).topics.get(args.name)
    if current is None:
        tool.warn(f"LỖI: không có chủ đề “{args.name}” (xem: python -m bot topic list)")
        return 1
    values = dict(current)
    if args.interactive:
        answered = _interactive(tool, args.name, values)
        if answered is None:
            return 1
        _, values = answered
    else:
        for key in ("title", "source"):
            if getattr(args, key):
                values[key] = getattr(args, key).strip()
        answer = _answer(args)
        if answer:
            values["answer"] = answer
        if args.checked or args.checked_today:
            values["checked"] = args.checked or tool.today
        examples = list(values.get("examples") or [])
        for text in args.remove_example:
            if text.strip() not in examples:
                tool.warn(f"LỖI: không có câu hỏi mẫu “{text.strip()}” trong chủ đề {args.name}")
                return 1
            examples.remove(text.strip())
        examples += [e.strip() for e in args.add_example if e.strip() and e.strip() not in examples]
        values["examples"] = examples
    return _save(tool, args.name, values, lenient=False)


def _answer(args: argparse.Namespace) -> str | None:
    if args.answer_file:
        return args.answer_file.read_text(encoding="utf-8").strip()
    return args.answer.strip() if args.answer else None


def _prompt(tool: Tool, label: str, current: str | None = None) -> str:
    suffix = f" [{current}]" if current else ""
    answer = tool.ask(f"{label}{suffix}: ").strip()
    return answer or (current or "")


def _prompt_lines(tool: Tool, label: str, end: str) -> list[str]:
    tool.say(label)
    lines = []
    while True:
        line = tool.ask("> ")
        if line.strip() == end or (end == "" and not line.strip()):
            return lines
        lines.append(line.rstrip())


def _interactive(tool: Tool, name: str | None, topic: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Ask for each field in turn; None when the staff member does not confirm the save."""
    while not name or not TOPIC_NAME_RE.match(name):
        name = _prompt(tool, "Mã chủ đề (chữ thường không dấu, nối bằng _, ví dụ safety_plan)")
    topic = dict(topic)
    topic["title"] = _prompt(tool, "Tiêu đề", topic.get("title"))
    if topic.get("answer"):
        tool.say(f"Câu trả lời hiện tại:\n{topic['answer']}")
    lines = _prompt_lines(tool, "Câu trả lời mới (nhiều dòng; gõ một dòng chỉ có dấu . để kết thúc; "
                                "gõ . ngay để giữ nguyên):", ".")
    if lines:
        topic["answer"] = "\n".join(lines).strip()
    topic["source"] = _prompt(tool, "Nguồn", topic.get("source"))
    checked = _prompt(tool, "Ngày rà soát (YYYY-MM-DD)", tool.today.isoformat())
    topic["checked"] = parse_day(checked)
    added = _prompt_lines(tool, "Câu hỏi mẫu cần thêm (mỗi dòng một câu; dòng trống để kết thúc):", "")
    topic["examples"] = [*list(topic.get("examples") or []), *[a.strip() for a in added if a.strip()]]
    tool.say(f"\nChủ đề {name}: {topic['title']} — {len(topic['examples'])} câu hỏi mẫu.")
    if _prompt(tool, "Lưu thay đổi? (c/k)").lower() not in ("c", "co", "có", "y", "yes"):
        tool.say("Đã hủy, chưa ghi gì.")
        return None
    return name, topic


def _save(tool: Tool, name: str, values: dict[str, Any], lenient: bool) -> int:
    try:
        written, warnings = save_topic(tool.content_dir, tool.nlu_dir, name, values, tool.today,
                                       LENIENT_NEW_TOPIC if lenient else frozenset())
    except SaveRefused as exc:
        for problem in exc.problems:
            tool.say(problem.line())
        tool.say("KHÔNG LƯU: thay đổi này gây lỗi nội dung. Chưa có gì bị thay đổi.")
        return 1
    for problem in warnings:
        tool.say(problem.line())
    for path in written:
        tool.say(f"Đã lưu: {path.relative_to(tool.content_dir.parent)}")
    if not written:
        tool.say("Không có gì thay đổi.")
    return 0
