"""Importing a spreadsheet: every row parsed, every content check run on the result, writes planned only if all is valid.

Findings of the content checks are located back to the sheet, row and column they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.content.provinces import Provinces
from bot.staff.checks import Problem, check_content, errors, new_problems
from bot.staff.sheets.parse import ParsedFAQ, parse_events, parse_faq, parse_hotlines
from bot.staff.sheets.schema import EVENTS, FAQ, FIELD_LABELS, HOTLINES, SHEET_TITLES, RawSheet, SheetError
from bot.staff.store import Content, Plan, plan_changes, with_changes


@dataclass
class ImportResult:
    """What an import would do: blocking errors, warnings, the planned writes and a summary."""

    errors: list[SheetError] = field(default_factory=list)
    warnings: list[SheetError] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    sheets: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import."""
        return not self.errors


def _locate(problem: Problem, faq: ParsedFAQ | None, event_rows: list[int] | None,
            hotline_rows: dict[str, list[int]] | None, severity: str) -> SheetError:
    """Turn a content-check finding into a sheet/row/column location when the row is known."""
    if problem.area == "faq" and faq is not None and problem.item in faq.topics:
        if problem.example is not None and (problem.item, problem.example) in faq.example_rows:
            row = faq.example_rows[(problem.item, problem.example)]
            column = "example"
        else:
            row = faq.field_rows.get((problem.item, problem.field or ""), faq.first_row[problem.item])
            column = problem.field if problem.field in FIELD_LABELS[FAQ] else None
        return SheetError(SHEET_TITLES[FAQ], row, FIELD_LABELS[FAQ].get(column or ""), problem.message, severity)
    if problem.area == "events" and event_rows is not None and problem.item.isdigit() \
            and int(problem.item) <= len(event_rows):
        return SheetError(SHEET_TITLES[EVENTS], event_rows[int(problem.item) - 1],
                          FIELD_LABELS[EVENTS].get(problem.field or ""), problem.message, severity)
    if problem.area == "hotlines" and hotline_rows is not None:
        group, _, n = problem.item.partition(":")
        row = hotline_rows.get(group, [])[int(n) - 1] if n.isdigit() and int(n) <= len(hotline_rows.get(group, [])) \
            else None
        return SheetError(SHEET_TITLES[HOTLINES], row, FIELD_LABELS[HOTLINES].get(problem.field or ""),
                          problem.message, severity)
    return SheetError("nội dung", None, None, f"{problem.where()}: {problem.message}", severity)


def import_sheets(sheets: dict[str, RawSheet], content_dir: Path, current: Content, today: date,
                  provinces: Provinces | None, others: list[tuple[str, str]],
                  read_errors: list[SheetError] | None = None, allow_delete: bool = False) -> ImportResult:
    """Validate the sheets row by row and against every content check; plan the writes only if all is valid."""
    result = ImportResult(errors=list(read_errors or []), sheets=[SHEET_TITLES[s] for s in sheets])
    faq = parse_faq(sheets[FAQ], result.errors) if FAQ in sheets else None
    events, event_rows = parse_events(sheets[EVENTS], result.errors) if EVENTS in sheets else (None, None)
    hotlines, hotline_rows = parse_hotlines(sheets[HOTLINES], result.errors) if HOTLINES in sheets else (None, None)
    if faq is not None and not allow_delete:
        for name in current.topics:
            if name not in faq.topics:
                result.errors.append(SheetError(SHEET_TITLES[FAQ], None, "Mã chủ đề", f"chủ đề {name} có trong nội "
                                                "dung nhưng không có trong bảng tính. Nếu thật sự muốn xóa chủ đề "
                                                "này, chạy lại lệnh với --allow-delete"))
    if not sheets and not result.errors:
        result.errors.append(SheetError("tệp", None, None, "không tìm thấy trang FAQ, Sự kiện hay Đường dây nóng"))
    if result.errors:
        return result
    topics = faq.topics if faq is not None else None
    after = with_changes(current, topics, events, hotlines, delete_missing_topics=allow_delete and faq is not None)
    before_problems = check_content(current, today, provinces, others)
    after_problems = check_content(after, today, provinces, others)
    fresh, old = new_problems(before_problems, after_problems)
    for problem in fresh:
        located = _locate(problem, faq, event_rows, hotline_rows, problem.severity)
        (result.errors if problem.severity == "error" else result.warnings).append(located)
    for problem in errors(old):
        result.warnings.append(_locate(problem, faq, event_rows, hotline_rows, "warning"))
    if result.errors:
        return result
    result.plan = plan_changes(content_dir, current, topics, events, hotlines,
                               delete_missing_topics=allow_delete and faq is not None)
    return result
