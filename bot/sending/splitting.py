"""Splitting long text under the platforms' limit, at paragraph and sentence ends, never inside a letter.

Also the shape of one reply part (`Part`: text under the limit, with buttons on the last part).
"""

from __future__ import annotations

import re
import unicodedata

Buttons = list[dict[str, str]]     # each {"title": ..., "payload": ...}
Part = tuple[str, Buttons | None]  # one reply under the platform limit, with buttons on the last part

MAX_CHARS = 1990  # every platform's limit is at least 2,000 characters

_CUTS = (re.compile(r"\n[ \t]*\n"), re.compile(r"\n"), re.compile(r"[.!?…](?:[\"'”’)\]]*)(?=\s)"),
         re.compile(r"[;:,](?=\s)"), re.compile(r"\s"))


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Split text into parts of at most `limit` characters, preferring paragraph and sentence ends."""
    text = (text or "").strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text[:limit + 1], limit)
        head, text = text[:cut].rstrip(), text[cut:].lstrip()
        if head:
            parts.append(head)
    if text:
        parts.append(text)
    return parts


def text_parts(text: str) -> tuple[Part, ...]:
    """A reply without buttons as parts under the limit."""
    return tuple((p, None) for p in split_text(text))


def _cut_point(window: str, limit: int) -> int:
    """Where to cut: the latest strong boundary in the second half of the window, else a hard cut."""
    floor = limit // 2
    for pattern in _CUTS:
        ends = [m.end() for m in pattern.finditer(window) if floor <= m.end() <= limit]
        if ends:
            return ends[-1]
    cut = limit
    while cut > 1 and unicodedata.combining(window[cut]):  # never separate a letter from its accent
        cut -= 1
    return cut
