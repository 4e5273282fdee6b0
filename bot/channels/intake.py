"""What a resident's input must be before it enters the inbox or Rasa: bounded, never intent syntax, fresh.

Guarantees: `bound_text` never returns more than `MAX_MESSAGE_CHARS` characters, never raises, cuts only
between characters (a letter keeps its combining accents) and keeps the end of a long message as well as its
beginning, so danger words written last are still assessed, forwarded and shown. `neutralise` turns
text a resident typed into words: Rasa reads a text starting with `/` (after blanks) as `/intent{slots}` and
skips NLU, so the leading slashes go. `button_payload` lets a button press through only as a bare intent
of the bot's own kind (`/affirm`), never with entities or as one of Rasa's internal intents. `is_fresh` is
the replay window of signed webhooks. `clean` / `clean_data` make any decoded JSON storable: a lone surrogate
(half an emoji, valid in JSON, not encodable as UTF-8) and a NUL character (refused by PostgreSQL) become
U+FFFD, so such a message is recorded and answered instead of failing for ever.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from bot.text import MAX_MESSAGE_CHARS

CUT_MARK = "\n[…]\n"          # shown where the middle of an over-long message was left out
HEAD_SHARE = 0.6              # of the bound, for the beginning; the rest (minus the mark) keeps the end
_BARE_INTENT = re.compile(r"/[a-z][a-z0-9_]{0,63}")
# Rasa's own intents: a button must not restart the conversation or fake a session start.
_INTERNAL_INTENTS = frozenset({"restart", "back", "session_start", "session_start_metadata", "nlu_fallback"})
_JOINERS = {"\u200d", "\u034f"}  # zero-width joiner, combining grapheme joiner
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean(text: str) -> str:
    """`text` with lone surrogates and NUL characters replaced by U+FFFD (UTF-8 and SQL safe)."""
    return _UNSTORABLE.sub("\ufffd", text)


def clean_data(value: Any) -> Any:
    """`clean` applied to every string (keys too) of a decoded JSON value."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_data(k): clean_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_data(v) for v in value]
    return value


def _attached(ch: str) -> bool:
    """Whether `ch` belongs to the character before it (an accent, a variation selector, a joiner)."""
    return (unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Mn", "Me")
            or ch in _JOINERS or "\ufe00" <= ch <= "\ufe0f")


def _head(text: str, n: int) -> str:
    """The first characters of `text`, at most `n`, not splitting a letter from its accents."""
    while 0 < n < len(text) and _attached(text[n]):
        n -= 1
    return text[:n]


def _tail(text: str, n: int) -> str:
    """The last characters of `text`, at most `n`, starting on a character of its own."""
    start = len(text) - n
    while 0 < start < len(text) and _attached(text[start]):
        start += 1
    return text[start:]


def bound_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` if short enough, else its beginning, a cut mark and its end, `limit` characters at most."""
    if len(text) <= limit:
        return text
    room = limit - len(CUT_MARK)
    if room <= 1:
        return _head(text, limit)
    head = int(room * HEAD_SHARE)
    return _head(text, head) + CUT_MARK + _tail(text, room - head)


def neutralise(text: str) -> str:
    """Typed text with the leading slashes (and blanks around them) removed, so Rasa reads words, not an intent."""
    body = text.lstrip()
    if not body.startswith("/"):
        return text
    while body.startswith("/"):
        body = body.lstrip("/").lstrip()
    return body


def button_payload(payload: str) -> str:
    """A button's payload: a bare intent of the bot's kind passes, anything else becomes words."""
    if _BARE_INTENT.fullmatch(payload) and payload[1:] not in _INTERNAL_INTENTS:
        return payload
    return neutralise(payload)


def is_fresh(sent_at: float | None, now: float, window: float) -> bool:
    """Whether a platform time (epoch seconds) lies within `window` seconds of `now`, either side."""
    return sent_at is not None and abs(now - sent_at) <= window


def epoch_seconds(value: object) -> float | None:
    """A platform time in epoch milliseconds (int or digit string) as seconds; None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value / 1000.0
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        return int(value) / 1000.0
    return None
