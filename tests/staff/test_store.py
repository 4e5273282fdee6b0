"""Format-preserving YAML writes: unchanged data gives byte-identical files, edits keep comments."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.staff.store import (
    load_content,
    plan_changes,
    render_events,
    render_hotlines,
    render_topic,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_content_file_renders_byte_identical() -> None:
    content = load_content(ROOT / "content")
    assert len(content.topics) >= 40
    for name, topic in content.topics.items():
        text = (ROOT / "content" / "faq" / f"{name}.yml").read_text(encoding="utf-8")
        assert render_topic(text, topic) == text, name
        assert render_topic(None, topic) == text, f"{name}: a fresh file differs from the house style"
    events = (ROOT / "content" / "events.yml").read_text(encoding="utf-8")
    assert render_events(events, content.events) == events
    hotlines = (ROOT / "content" / "hotlines.yml").read_text(encoding="utf-8")
    assert render_hotlines(hotlines, content.hotlines) == hotlines


def test_unchanged_data_plans_no_write(repo: Path) -> None:
    content = load_content(repo / "content")
    plan = plan_changes(repo / "content", content, content.topics, content.events, content.hotlines)
    assert plan.empty()


def test_changing_a_number_keeps_comments_and_other_lines(repo: Path) -> None:
    path = repo / "content" / "hotlines.yml"
    before = path.read_text(encoding="utf-8")
    content = load_content(repo / "content")
    hotlines = {g: [dict(h) for h in lines] for g, lines in content.hotlines.items()}
    hotlines["counseling"][0]["number"] = "0912345678"
    plan = plan_changes(repo / "content", content, hotlines=hotlines)
    assert list(plan.writes) == [path]
    plan.apply()
    after = path.read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [('  - number: "0377672444"', '  - number: "0912345678"')]
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 3
    assert [line for line in after.splitlines() if line.lstrip().startswith("#")] == comments
    assert yaml.safe_load(after)["counseling"][0]["number"] == "0912345678"


def test_strings_yaml_would_misread_are_quoted(repo: Path) -> None:
    content = load_content(repo / "content")
    topic = dict(content.topics["bot_scope"])
    topic["examples"] = [*topic["examples"], "yes", "2026-11-22", "on"]
    text = render_topic((repo / "content" / "faq" / "bot_scope.yml").read_text(encoding="utf-8"), topic)
    assert yaml.safe_load(text)["examples"][-3:] == ["yes", "2026-11-22", "on"]
