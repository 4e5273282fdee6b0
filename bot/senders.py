"""Sender ids: every conversation is `<channel>:<platform id>`; the channel list lives here only."""

from __future__ import annotations

import hashlib

PUSH_CHANNELS = ("zalo", "messenger", "telegram")  # channels the project can send to unprompted
CHANNELS = (*PUSH_CHANNELS, "rest")


def make_sender(channel: str, platform_id: str) -> str:
    """("zalo", "123") → `zalo:123`."""
    return f"{channel}:{platform_id}"


def parse_sender(sender_id: str) -> tuple[str, str] | None:
    """`zalo:123` → ("zalo", "123"); None without a prefix or an id."""
    channel, sep, platform_id = sender_id.partition(":")
    if not sep or not channel or not platform_id:
        return None
    return channel, platform_id


def channel_of(sender_id: str, default: str = "rest") -> str:
    """The known channel prefix of a sender id such as `zalo:123` (else the default)."""
    parsed = parse_sender(sender_id)
    return parsed[0] if parsed and parsed[0] in CHANNELS else default


def sender_ref(sender_id: str) -> str:
    """A short stable reference to a sender for logs (the id itself is never logged)."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:10]
