"""Linear-time building blocks for the triage rules.

`match_rules` runs a table of (reason, level, matcher) rules; the Vietnamese and the English rules both use it.

Guarantees: every matcher runs in time linear in the text (no `.*` between two patterns, which backtracks
quadratically on long input); `_Then(first, then)` matches exactly what `first.*then` would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from bot.triage.levels import LEVEL_RANK, NONE


class _Then:
    """`first.*then` in linear time: the first `first`, then `then` anywhere after it (no backtracking)."""

    def __init__(self, first: str, then: str) -> None:
        self.first, self.then = re.compile(first), re.compile(then)

    def search(self, text: str) -> bool:
        """True when `then` occurs after the first occurrence of `first`."""
        m = self.first.search(text)
        return m is not None and self.then.search(text, m.end()) is not None


class _AnyOf:
    """A rule that matches when any of its parts does."""

    def __init__(self, *parts: re.Pattern[str] | _Then) -> None:
        self.parts = parts

    def search(self, text: str) -> bool:
        """True when one part matches."""
        return any(part.search(text) for part in self.parts)


def either_order(a: str, b: str) -> _AnyOf:
    """`a` and `b` both present, in either order (linear: two `_Then`)."""
    return _AnyOf(_Then(a, b), _Then(b, a))


class _Gate:
    """A rule behind a cheap substring check: it runs only when one of `needles` (each necessary for a match) occurs."""

    def __init__(self, needles: tuple[str, ...], rule: re.Pattern[str] | _AnyOf | _Then) -> None:
        self.needles, self.rule = needles, rule

    def search(self, text: str) -> bool:
        """True when a needle occurs and the rule matches."""
        return any(n in text for n in self.needles) and bool(self.rule.search(text))


class Matcher(Protocol):
    """Anything with `search(text)` that is truthy on a match (a compiled pattern or one of the classes above)."""

    def search(self, text: str) -> object:
        """A match (truthy) or None/False."""
        ...


def match_rules(rules: Iterable[tuple[str, str, Matcher]], text: str) -> tuple[str, list[str]]:
    """Run a rule table (reason, level, matcher) over a text: the highest level matched and every reason, once."""
    level = NONE
    reasons: list[str] = []
    for reason, urgency, pattern in rules:
        if reason not in reasons and pattern.search(text):
            reasons.append(reason)
            if LEVEL_RANK[urgency] > LEVEL_RANK[level]:
                level = urgency
    return level, reasons
