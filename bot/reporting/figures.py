"""Gathers every raw figure of a period from the project database and the tracker store (read only).

With a province, a resident counts for it when the province they last told the bot (the tracker's `province`
slot, mapped to today's province), their subscription, or one of their cases names it. Raw counts stay inside
`Figures`; bot.reporting.build turns them into suppressed tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cases.models import Case
from bot.content.faq import load_topic
from bot.content.intents import INTENT_TITLES
from bot.content.provinces import Provinces
from bot.db.engine import session_factory
from bot.outreach.models import Subscription
from bot.reporting.cases import CaseFigures, case_figures
from bot.reporting.conversations import TrackerFigures, read_tracker, tracker_provinces
from bot.reporting.outreach import OutreachFigures, outreach_figures
from bot.reporting.tables import Period
from bot.review_queue import ReviewItem


@dataclass
class Figures:
    """Raw figures of one period (never rendered as they are)."""

    period: Period
    tracker: TrackerFigures
    unanswered: Counter[str]   # review reason → messages
    cases: CaseFigures
    outreach: OutreachFigures


def question_titles(content_dir: Path) -> dict[str, str]:
    """Vietnamese titles of the questions: `faq/<topic>` from content/faq/, intents from bot.content.intents."""
    titles = dict(INTENT_TITLES)
    for path in sorted((content_dir / "faq").glob("*.yml")):
        try:  # a topic file broken while staff edit it costs its title, never the report
            topic = load_topic(path)
        except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
            continue
        titles[f"faq/{topic.topic}"] = topic.title
    return titles


def title_of(key: str, titles: Mapping[str, str]) -> str:
    """The title of a question key (the key itself when nobody named it)."""
    return titles.get(key) or key


def province_senders(engine: Engine, tracker: Engine | None, period: Period, provinces: Provinces) -> set[str]:
    """Sender ids that belong to the period's province (empty set when the period has none)."""
    wanted = period.province
    if not wanted:
        return set()
    told = tracker_provinces(tracker, period.hi)
    senders = {sender for sender, said in told.items() if (provinces.current_of(said) or said) == wanted}
    with session_factory(engine)() as s:
        senders.update(s.execute(select(Subscription.sender_id).where(Subscription.province == wanted)).scalars())
        senders.update(s.execute(select(Case.sender_id).where(Case.province == wanted)).scalars())
    return senders


def unanswered_counts(engine: Engine, period: Period, keep: Callable[[str], bool] | None) -> Counter[str]:
    """Messages the bot could not answer, first seen in the period, by reason (no text is read)."""
    with session_factory(engine)() as s:
        rows = s.execute(select(ReviewItem.sender_id, ReviewItem.reason, ReviewItem.count).where(
            ReviewItem.created_at >= period.lo, ReviewItem.created_at < period.hi)).all()
    counts: Counter[str] = Counter()
    for sender_id, reason, count in rows:
        if keep is None or keep(sender_id):
            counts[reason] += int(count or 1)
    return counts


def gather(engine: Engine, tracker: Engine | None, period: Period, provinces: Provinces) -> Figures:
    """Every raw figure of the period."""
    keep: Callable[[str], bool] | None = None
    if period.province:
        members = province_senders(engine, tracker, period, provinces)
        keep = members.__contains__
    return Figures(period, read_tracker(tracker, period, keep), unanswered_counts(engine, period, keep),
                   case_figures(engine, period), outreach_figures(engine, period))
