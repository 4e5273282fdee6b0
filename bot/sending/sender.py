"""What a platform sender promises (`Sender`) and how HTTP error statuses map to the delivery vocabulary.

A sender sends one part already under the limit and raises only `RetryLater` or `GiveUp`
(`bot.outbox.errors`); retries, splitting and failure records are `bot.sending.outbound.Outbound`'s.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.outbox.errors import DeliveryError, GiveUp, RetryLater
from bot.sending.splitting import Buttons


class Sender(Protocol):
    """Sends one part (already under the limit) to one platform user."""

    channel: str

    async def send_part(self, platform_id: str, text: str, buttons: Buttons | None, by_human: bool,
                        ctx: dict[str, Any]) -> None:
        """Raise RetryLater or GiveUp on failure; `ctx` survives the retries of one part."""

    async def close(self) -> None:
        """Release resources."""


def http_failure(status: int, retry_after: str | None = None) -> DeliveryError:
    """An HTTP error status as the delivery vocabulary: 429 and 5xx are temporary, the rest final."""
    if status == 429:
        try:
            wait = float(retry_after) if retry_after else None
        except ValueError:
            wait = None
        return RetryLater("http 429", wait)
    if status >= 500:
        return RetryLater(f"http {status}")
    return GiveUp(f"http {status}")
