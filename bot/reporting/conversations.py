"""Residents reached, conversations and questions asked, read from Rasa's SQL tracker store (`events`, read only).

A resident is a distinct sender id with at least one message in the period; a conversation is one Rasa session
(from `session_started` to the next) with at least one resident message in the period, counted on the day (Vietnam
time) of its first message in the period; a question is a resident message with its intent (FAQ answers by their
topic, `faq/<topic>`). Sender ids are used only to count: nothing that leaves this module names a sender.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.reporting.tables import Period
from bot.senders import channel_of
from bot.timeutil import UTC, VN_TZ

log = logging.getLogger(__name__)
# Intents that are not questions: small talk, answers to the bot's own questions, subscriptions and polls.
NOT_QUESTIONS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "subscribe", "unsubscribe",
                           "nlu_fallback", "out_of_scope", "mark_unhelpful"})


@dataclass
class TrackerFigures:
    """Counts from the tracker store; `available` is False when it could not be read."""

    available: bool = True
    residents: Counter[str] = field(default_factory=Counter)       # channel → distinct senders
    conversations: Counter[str] = field(default_factory=Counter)   # channel → sessions
    residents_by_day: Counter[date] = field(default_factory=Counter)
    conversations_by_day: Counter[date] = field(default_factory=Counter)
    questions: Counter[str] = field(default_factory=Counter)       # intent or `faq/<topic>` → messages

    @property
    def total_residents(self) -> int:
        """Distinct residents over every channel."""
        return sum(self.residents.values())

    @property
    def total_conversations(self) -> int:
        """Conversations over every channel."""
        return sum(self.conversations.values())


def open_tracker(url: str | None) -> Engine | None:
    """A read-only engine on the tracker store (None without a URL or when its SQLite file does not exist)."""
    if not url:
        return None
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path or path == ":memory:" or not Path(path).exists():
            return None
        return create_engine(f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true", future=True,
                             hide_parameters=True, connect_args={"check_same_thread": False, "timeout": 5, "uri": True})
    return create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)


def question_of(intent: str | None, raw: str | None) -> str | None:
    """The question a resident message asked: `faq/<topic>` for FAQ answers, else its intent (None: not one)."""
    if not intent or intent in NOT_QUESTIONS or intent.startswith("poll_option"):
        return None
    if intent != "faq":
        return intent
    try:
        selector = (json.loads(raw or "{}").get("parse_data") or {}).get("response_selector") or {}
        key = ((selector.get("faq") or {}).get("response") or {}).get("intent_response_key")
    except (ValueError, AttributeError):
        key = None
    return str(key) if key else "faq"


def _day(timestamp: float | None) -> date:
    return datetime.fromtimestamp(float(timestamp or 0), UTC).astimezone(VN_TZ).date()


def read_tracker(engine: Engine | None, period: Period, keep: Callable[[str], bool] | None = None) -> TrackerFigures:
    """Residents, conversations (by channel and day) and questions of the period; `keep` filters senders."""
    if engine is None:
        return TrackerFigures(available=False)
    figures = TrackerFigures()
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT sender_id, type_name, timestamp, intent_name, data FROM events "
                "WHERE type_name IN ('user', 'session_started') AND timestamp >= :lo AND timestamp < :hi "
                "ORDER BY sender_id, id"), {"lo": period.lo.timestamp(), "hi": period.hi.timestamp()})
            _count(rows, figures, keep)
    except Exception:  # a missing or locked tracker store leaves the other figures intact
        log.warning("tracker store unreadable: conversation figures left out")
        return TrackerFigures(available=False)
    return figures


def _count(rows: Iterable, figures: TrackerFigures, keep: Callable[[str], bool] | None) -> None:
    """One pass over the events ordered by sender: a session opens at `session_started` or a sender's first event."""
    sender: str | None = None
    in_session, days = False, set()
    for row in rows:
        if row.sender_id != sender:
            if sender is not None and days:
                _add_resident(figures, sender, days)
            sender, in_session, days = row.sender_id, False, set()
        if keep is not None and not keep(sender):
            continue
        if row.type_name == "session_started":
            in_session = False
            continue
        day = _day(row.timestamp)
        days.add(day)
        if not in_session:
            in_session = True
            figures.conversations[channel_of(sender)] += 1
            figures.conversations_by_day[day] += 1
        question = question_of(row.intent_name, row.data if row.intent_name == "faq" else None)
        if question:
            figures.questions[question] += 1
    if sender is not None and days:
        _add_resident(figures, sender, days)


def _add_resident(figures: TrackerFigures, sender: str, days: set[date]) -> None:
    figures.residents[channel_of(sender)] += 1
    for day in days:
        figures.residents_by_day[day] += 1


def tracker_provinces(engine: Engine | None, until: datetime) -> dict[str, str]:
    """The province each sender last told the bot (the `province` slot) before `until`: sender → name as said."""
    if engine is None:
        return {}
    found: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT sender_id, data FROM events WHERE type_name = 'slot' AND timestamp < :hi "
                "AND data LIKE '%\"province\"%' ORDER BY id"), {"hi": until.timestamp()})
            for row in rows:
                try:
                    data = json.loads(row.data or "{}")
                except ValueError:
                    continue
                if data.get("name") == "province":
                    if data.get("value"):
                        found[row.sender_id] = str(data["value"])
                    else:
                        found.pop(row.sender_id, None)
    except Exception:  # same as read_tracker: the report goes on without the tracker
        log.warning("tracker store unreadable: provinces of conversations left out")
        return {}
    return found
