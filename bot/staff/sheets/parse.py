"""Turning raw sheet rows into topics, events and hotlines, with a located Vietnamese error for every bad cell."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.staff.checks import TOPIC_NAME_RE
from bot.staff.sheets.schema import (
    COLUMNS,
    DATE_FIELDS,
    EVENTS,
    FAQ,
    FIELD_LABELS,
    HOTLINES,
    SHEET_TITLES,
    RawSheet,
    SheetError,
    cell_text,
    parse_date,
)
from bot.staff.store import HOTLINE_GROUPS, TOPIC_ORDER
from bot.text import fold

_GROUP_WORDS = {"khan cap": "emergency", "emergency": "emergency", "tu van": "counseling", "counseling": "counseling"}
_SCOPE_WORDS = {"toan quoc": "national", "quoc gia": "national", "national": "national", "tinh": "province",
                "tinh thanh": "province", "tinh/thanh": "province", "province": "province"}
_YES = {"co", "x", "yes", "true", "1", "mac dinh"}
_NO = {"", "khong", "no", "false", "0"}


class _RowParser:
    """Collects values and errors for one sheet."""

    def __init__(self, sheet: str, out: list[SheetError]) -> None:
        self.sheet, self.out = sheet, out

    def error(self, row: int | None, key: str | None, message: str) -> None:
        self.out.append(SheetError(SHEET_TITLES[self.sheet], row, FIELD_LABELS[self.sheet].get(key) if key else None,
                                   message))

    def date(self, row: int, values: dict[str, Any], key: str, required: bool) -> date | None:
        raw = values.get(key)
        if cell_text(raw) == "":
            if required:
                self.error(row, key, "ô này không được để trống")
            return None
        parsed = parse_date(raw)
        if parsed is None:
            self.error(row, key, f"“{cell_text(raw)}” không phải ngày hợp lệ: ghi 22/11/2026 hoặc 2026-11-22")
        return parsed

    def text(self, values: dict[str, Any], key: str) -> str | None:
        value = cell_text(values.get(key))
        return value or None


@dataclass
class ParsedFAQ:
    """Topics read from the FAQ sheet, with where each value came from (for error locations)."""

    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    field_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    example_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    first_row: dict[str, int] = field(default_factory=dict)


def parse_faq(raw: RawSheet, out: list[SheetError]) -> ParsedFAQ:
    """Group example rows by topic; topic fields may be given once (on any row of the topic)."""
    p = _RowParser(FAQ, out)
    parsed = ParsedFAQ()
    for number, values in raw.rows:
        name = cell_text(values.get("topic"))
        if not name:
            p.error(number, "topic", "thiếu mã chủ đề")
            continue
        if not TOPIC_NAME_RE.match(name):
            p.error(number, "topic", f"mã chủ đề “{name}” chỉ được gồm chữ thường không dấu, số và dấu gạch dưới")
            continue
        topic = parsed.topics.setdefault(name, {"topic": name, "examples": []})
        parsed.first_row.setdefault(name, number)
        for key in ("title", "answer", "source", "checked"):
            if cell_text(values.get(key)) == "":
                continue
            value = p.date(number, values, key, True) if key == "checked" else p.text(values, key)
            if value is None:
                continue
            if key in topic and topic[key] != value:
                p.error(number, key, f"khác với giá trị ở dòng {parsed.field_rows[(name, key)]} của cùng chủ đề; "
                        "chỉ ghi ở một dòng (dòng đầu của chủ đề)")
                continue
            topic[key] = value
            parsed.field_rows.setdefault((name, key), number)
        example = cell_text(values.get("example"))
        if example:
            topic["examples"].append(example)
            parsed.example_rows.setdefault((name, example), number)
    for name, topic in parsed.topics.items():
        for key in ("title", "answer", "source", "checked"):
            if key not in topic:
                p.error(parsed.first_row[name], key, f"chủ đề {name} chưa có {FIELD_LABELS[FAQ][key].lower()} "
                        "(ghi ở dòng đầu của chủ đề)")
        parsed.topics[name] = {k: topic[k] for k in TOPIC_ORDER if k in topic}
    return parsed


def parse_events(raw: RawSheet, out: list[SheetError]) -> tuple[list[dict[str, Any]], list[int]]:
    """Events and the sheet row of each."""
    p = _RowParser(EVENTS, out)
    events, rows = [], []
    for number, values in raw.rows:
        event: dict[str, Any] = {}
        for key, _ in COLUMNS[EVENTS]:
            if key in DATE_FIELDS:
                event[key] = p.date(number, values, key, True)
            else:
                event[key] = p.text(values, key)
        for key in ("title", "province", "source"):
            if event[key] is None:
                p.error(number, key, "ô này không được để trống")
        events.append({k: v for k, v in event.items() if v is not None})
        rows.append(number)
    return events, rows


def parse_hotlines(raw: RawSheet, out: list[SheetError]) -> tuple[dict[str, list[dict[str, Any]]],
                                                                   dict[str, list[int]]]:
    """Emergency and counseling lines, and the sheet row of each."""
    p = _RowParser(HOTLINES, out)
    lines: dict[str, list[dict[str, Any]]] = {g: [] for g in HOTLINE_GROUPS}
    rows: dict[str, list[int]] = {g: [] for g in HOTLINE_GROUPS}
    for number, values in raw.rows:
        group = _GROUP_WORDS.get(fold(cell_text(values.get("group"))))
        if group is None:
            p.error(number, "group", f"“{cell_text(values.get('group'))}” không hợp lệ: ghi “khẩn cấp” hoặc “tư vấn”")
            continue
        phone = re.sub(r"[\s.\-()]", "", cell_text(values.get("number")))
        if phone.startswith("+84"):
            phone = "0" + phone[3:]
        if phone and len(phone) == 9 and phone.isdigit() and not phone.startswith("0"):
            p.error(number, "number", f"“{phone}” thiếu số 0 ở đầu (Excel thường tự bỏ): định dạng ô là Văn bản "
                    "(Text) rồi gõ lại 0" + phone)
        elif phone and not phone.isdigit():
            p.error(number, "number", f"“{cell_text(values.get('number'))}” chỉ được gồm chữ số")
        scope_text = cell_text(values.get("scope"))
        scope = _SCOPE_WORDS.get(fold(scope_text)) if scope_text else None
        if scope_text and scope is None:
            p.error(number, "scope", f"“{scope_text}” không hợp lệ: ghi “toàn quốc” hoặc “tỉnh”, hoặc để trống")
        default_word = fold(cell_text(values.get("default")))
        if default_word not in _YES | _NO:
            p.error(number, "default", "ghi “có” cho số tư vấn mặc định, hoặc để trống")
        line: dict[str, Any] = {"number": phone or None, "organisation": p.text(values, "organisation"),
                                "scope": scope, "province": p.text(values, "province"), "hours": p.text(values, "hours"),
                                "source": p.text(values, "source"),
                                "checked": p.date(number, values, "checked", True),
                                "default": True if default_word in _YES else None}
        for key in ("number", "organisation", "source"):
            if line[key] is None:
                p.error(number, key, "ô này không được để trống")
        lines[group].append({k: v for k, v in line.items() if v is not None})
        rows[group].append(number)
    return lines, rows
