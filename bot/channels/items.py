"""The channels' vocabulary: an incoming event (Item) and what one assistant turn said (reply parts: bot.sending).

Plain data only, so the parsers, the turn policy and the inbox share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.channels.models import PENDING
from bot.sending.splitting import Part

# Kinds of events the platforms' webhooks are reduced to.
TEXT, ATTACHMENT, WELCOME, UNFOLLOW, NOOP = "text", "attachment", "welcome", "unfollow", "noop"
DELETE_REQUEST_TEXT = "xóa dữ liệu của tôi"  # what a "delete my data" button or command sends to the assistant



@dataclass
class Item:
    """A normalised incoming event, before or after it is stored."""

    key: str
    channel: str
    sender_id: str
    kind: str
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    row_id: int | None = None
    status: str = PENDING
    attempts: int = 0
    sent_at: float | None = None  # the platform's time of the event (epoch s), for the replay window; not stored


@dataclass(frozen=True)
class BotReply:
    """What the assistant said in one turn: its parts, whether it marked a case, why it failed ("" if not)."""

    parts: tuple[Part, ...] = ()
    case_marked: bool = False
    failed: str = ""
