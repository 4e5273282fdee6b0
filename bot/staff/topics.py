"""Saving one FAQ topic safely: the change is checked against every content check before it is written."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from bot.content.provinces import Provinces
from bot.staff.checks import (
    Problem,
    check_content,
    errors,
    new_problems,
    other_nlu_examples,
)
from bot.staff.store import TOPIC_ORDER, load_content, plan_changes, with_changes

# A topic being built up may lack examples for a while: these checks warn instead of blocking the save.
LENIENT_NEW_TOPIC = frozenset({"few_examples", "few_plain_examples"})


class SaveRefused(ValueError):
    """The change would introduce content errors; `problems` lists them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def load_provinces(content_dir: Path) -> Provinces | None:
    """The province index, or None when the file is missing."""
    path = content_dir / "provinces.yml"
    return Provinces.load(path) if path.exists() else None


def save_topic(content_dir: Path, nlu_dir: Path, name: str, values: dict[str, Any], today: date,
               lenient: frozenset[str] = frozenset()) -> tuple[list[Path], list[Problem]]:
    """Write content/faq/<name>.yml if the change adds no error; returns (files written, warnings)."""
    current = load_content(content_dir)
    values = {k: values[k] for k in TOPIC_ORDER if values.get(k) is not None}
    provinces = load_provinces(content_dir)
    others = other_nlu_examples(nlu_dir) if nlu_dir.exists() else []
    after = with_changes(current, topics={name: values})
    fresh, _ = new_problems(check_content(current, today, provinces, others),
                            check_content(after, today, provinces, others))
    blocking = [p for p in errors(fresh) if p.code not in lenient]
    if blocking:
        raise SaveRefused(blocking)
    plan = plan_changes(content_dir, current, topics={name: values})
    plan.apply()
    return list(plan.writes), [p for p in fresh if p not in blocking]
