"""Zalo has no buttons: a typed answer to an open poll ("2", "số 2", an option's label) becomes `/poll_option_N`.

Guarantees: only while the sender has a poll open for them (`bot.outreach.polls.latest_open_poll`), only for a
short reply that is nothing but the option (a number 1 … the number of options, or an option's exact label with
or without diacritics), never for a message the triage rules find urgent, and never while a counselor owns the
conversation (her "1" is then forwarded as she wrote it). Anything else stays the resident's words.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.cases.handoff import human_owner
from bot.outreach.polls import MAX_OPTIONS, latest_open_poll
from bot.text import normalize
from bot.triage import assess

POLL_INTENT = "/poll_option_{}"  # 1-based: the payloads of the poll's quick replies on the other platforms
MAX_REPLY_CHARS = 80
_NUMBER = re.compile(r"(?:so |chon |phuong an |y )?([1-9])")


def poll_choice(text: str, options: list[str]) -> int | None:
    """The 1-based option a typed reply names, or None when it is not just an option."""
    if not options or len(text) > MAX_REPLY_CHARS:
        return None
    said = normalize(text)
    number = _NUMBER.fullmatch(said)
    if number:
        chosen = int(number.group(1))
        return chosen if chosen <= min(len(options), MAX_OPTIONS) else None
    for index, label in enumerate(options[:MAX_OPTIONS], start=1):
        if said and said == normalize(label):
            return index
    return None


def map_poll_reply(engine: Engine, sender_id: str, text: str, now: datetime) -> str | None:
    """`/poll_option_N` when this typed text answers the sender's open poll, else None (the text stays words)."""
    if not text or len(text) > MAX_REPLY_CHARS or assess(text).urgent:
        return None
    poll = latest_open_poll(engine, sender_id, now)
    if poll is None:
        return None
    chosen = poll_choice(text, poll[1])
    if chosen is None or human_owner(engine, sender_id) is not None:
        return None
    return POLL_INTENT.format(chosen)
