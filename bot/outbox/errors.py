"""The one delivery vocabulary: what a sender or an outbox handler says when it cannot deliver."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base of the outcomes; `reason` is a short code such as `zalo:-230` or `http 503`, never message text."""

    def __init__(self, reason: str) -> None:
        """Keep a short, non-sensitive reason."""
        super().__init__(reason)
        self.reason = reason


class RetryLater(DeliveryError):
    """A temporary failure (timeout, 5xx, rate limit); `after` is the platform's own wait, when it gave one."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        """`after`: seconds the platform asked us to wait."""
        super().__init__(reason)
        self.after = after


class GiveUp(DeliveryError):
    """A failure retrying cannot fix (window closed, user blocked the bot, bad token)."""


class Skip(DeliveryError):
    """Nothing to deliver (e.g. notifications are off)."""
