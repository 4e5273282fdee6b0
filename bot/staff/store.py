"""Reading the content files as plain data, and planning format-preserving writes to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.staff.yamlio import (
    atomic_write,
    dump_rt,
    load_rt,
    new_map,
    plain,
    safe_load,
    same_data,
    update_map,
)

TOPIC_ORDER = ("topic", "title", "answer", "source", "checked", "examples")
EVENT_ORDER = ("title", "province", "district", "date", "time", "place", "source", "checked")
HOTLINE_ORDER = ("number", "organisation", "scope", "province", "hours", "source", "checked", "default")
HOTLINE_GROUPS = ("emergency", "counseling")
_QUOTED = ("source", "number")


@dataclass
class Content:
    """The staff-edited content as plain Python data."""

    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    hotlines: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {g: [] for g in HOTLINE_GROUPS})
    load_errors: list[tuple[str, str]] = field(default_factory=list)


def _read(path: Path, errors: list[tuple[str, str]], label: str) -> Any:
    try:
        return plain(safe_load(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        errors.append((label, "không tìm thấy tệp"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (dòng {mark.line + 1})" if mark is not None else ""
        errors.append((label, f"tệp YAML sai cú pháp{where}"))
    return None


def load_content(content_dir: Path) -> Content:
    """Read content/faq/*.yml, events.yml and hotlines.yml; unreadable files become load errors."""
    content = Content()
    for path in sorted((content_dir / "faq").glob("*.yml")):
        data = _read(path, content.load_errors, f"faq/{path.name}")
        if data is None:
            continue
        if not isinstance(data, dict):
            content.load_errors.append((f"faq/{path.name}", "tệp không phải là một chủ đề (cần các khóa topic, title…)"))
            continue
        content.topics[path.stem] = data
    events = _read(content_dir / "events.yml", content.load_errors, "events.yml")
    if isinstance(events, dict):
        content.events = [e if isinstance(e, dict) else {} for e in events.get("events") or []]
    hotlines = _read(content_dir / "hotlines.yml", content.load_errors, "hotlines.yml")
    if isinstance(hotlines, dict):
        content.hotlines = {g: [h if isinstance(h, dict) else {} for h in hotlines.get(g) or []]
                            for g in HOTLINE_GROUPS}
    return content


@dataclass
class Plan:
    """Files to write (path → new text) and topic files to delete; nothing is written until `apply`."""

    writes: dict[Path, str] = field(default_factory=dict)
    deletes: list[Path] = field(default_factory=list)

    def empty(self) -> bool:
        """True when nothing would change."""
        return not self.writes and not self.deletes

    def apply(self) -> None:
        """Write every planned file atomically, then delete the removed topics."""
        for path, text in self.writes.items():
            atomic_write(path, text)
        for path in self.deletes:
            path.unlink(missing_ok=True)


class PlanError(RuntimeError):
    """A planned file would not read back as the intended data (a bug, never written)."""


def render_topic(existing: str | None, values: dict[str, Any]) -> str:
    """The YAML text of a topic file, editing the existing text in place when there is one."""
    if existing is not None:
        data = load_rt(existing)
        update_map(data, values, TOPIC_ORDER, literal=("answer",), quoted=_QUOTED)
    else:
        data = new_map(values, TOPIC_ORDER, literal=("answer",), quoted=_QUOTED)
    text = dump_rt(data)
    _verify(text, plain(data), "topic")
    return text


def _update_list(seq: CommentedSeq, rows: list[dict[str, Any]], order: tuple[str, ...]) -> None:
    """Update a list of mappings by position: edited rows keep their comments, extra rows are added."""
    for i, row in enumerate(rows):
        if i < len(seq) and isinstance(seq[i], CommentedMap):
            update_map(seq[i], row, order, quoted=_QUOTED)
        elif i < len(seq):
            seq[i] = new_map(row, order, quoted=_QUOTED)
        else:
            seq.append(new_map(row, order, quoted=_QUOTED))
    del seq[len(rows):]


def render_events(existing: str, events: list[dict[str, Any]]) -> str:
    """The YAML text of events.yml with the given events."""
    data = load_rt(existing) if existing.strip() else CommentedMap()
    if data is None:
        data = CommentedMap()
    if not isinstance(data.get("events"), CommentedSeq):
        data["events"] = CommentedSeq()
    _update_list(data["events"], events, EVENT_ORDER)
    text = dump_rt(data)
    _verify(text, plain(data), "events")
    return text


def render_hotlines(existing: str, hotlines: dict[str, list[dict[str, Any]]]) -> str:
    """The YAML text of hotlines.yml with the given emergency and counseling lines."""
    data = load_rt(existing) if existing.strip() else CommentedMap()
    for group in HOTLINE_GROUPS:
        if not isinstance(data.get(group), CommentedSeq):
            data[group] = CommentedSeq()
        _update_list(data[group], hotlines.get(group) or [], HOTLINE_ORDER)
    text = dump_rt(data)
    _verify(text, plain(data), "hotlines")
    return text


def _verify(text: str, expected: Any, what: str) -> None:
    if not same_data(text, expected):
        raise PlanError(f"internal error: rendered {what} YAML does not read back as the intended data")


def plan_changes(content_dir: Path, current: Content, topics: dict[str, dict[str, Any]] | None = None,
                 events: list[dict[str, Any]] | None = None,
                 hotlines: dict[str, list[dict[str, Any]]] | None = None,
                 delete_missing_topics: bool = False) -> Plan:
    """Work out which files change; untouched data keeps its file byte for byte."""
    plan = Plan()
    if topics is not None:
        for name, values in topics.items():
            path = content_dir / "faq" / f"{name}.yml"
            old = current.topics.get(name)
            if old is not None and {k: old.get(k) for k in TOPIC_ORDER} == {k: values.get(k) for k in TOPIC_ORDER}:
                continue
            existing = path.read_text(encoding="utf-8") if path.exists() else None
            plan.writes[path] = render_topic(existing, values)
        if delete_missing_topics:
            plan.deletes = [content_dir / "faq" / f"{n}.yml" for n in current.topics if n not in topics]
    if events is not None and _rows(events) != _rows(current.events):
        path = content_dir / "events.yml"
        plan.writes[path] = render_events(path.read_text(encoding="utf-8") if path.exists() else "", events)
    if hotlines is not None and {g: _rows(hotlines.get(g) or []) for g in HOTLINE_GROUPS} != \
            {g: _rows(current.hotlines.get(g) or []) for g in HOTLINE_GROUPS}:
        path = content_dir / "hotlines.yml"
        plan.writes[path] = render_hotlines(path.read_text(encoding="utf-8") if path.exists() else "", hotlines)
    return plan


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


def with_changes(current: Content, topics: dict[str, dict[str, Any]] | None = None,
                 events: list[dict[str, Any]] | None = None,
                 hotlines: dict[str, list[dict[str, Any]]] | None = None,
                 delete_missing_topics: bool = False) -> Content:
    """The content as it would be after the changes (for checking before writing)."""
    merged_topics = dict(current.topics)
    if topics is not None:
        if delete_missing_topics:
            merged_topics = {}
        for name, values in topics.items():
            extra = {k: v for k, v in (current.topics.get(name) or {}).items() if k not in TOPIC_ORDER}
            merged_topics[name] = {**extra, **{k: v for k, v in values.items() if v is not None}}
    return Content(topics=dict(sorted(merged_topics.items())),
                   events=list(events) if events is not None else list(current.events),
                   hotlines=hotlines if hotlines is not None else current.hotlines,
                   load_errors=list(current.load_errors))
