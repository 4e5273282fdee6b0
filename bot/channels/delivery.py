"""Sending to a resident by channel-prefixed sender id: retries within a window, loud failure records.

`Outbound.send_text("zalo:<id>", text)` splits the text under the platform limit; each part is
retried on `RetryLater` (timeouts, 5xx, rate limits) with backoff and jitter, at least as long as
the platform asked, within the retry window. A part that cannot be delivered raises `RetryLater`
(still temporary when the window closed) or `GiveUp`, after being recorded in `delivery_failures`.
Platform senders live in their channel's module; `bot.channels.outbound.build_outbound` assembles them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from bot.channels.items import Buttons
from bot.channels.splitting import split_text
from bot.outbox.errors import DeliveryError, GiveUp, RetryLater
from bot.outbox.failures import record_failure
from bot.senders import PUSH_CHANNELS, parse_sender, sender_ref

log = logging.getLogger(__name__)


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


class Outbound:
    """Sends to any resident by channel-prefixed sender id, with retries and failure records."""

    def __init__(self, senders: dict[str, Sender], engine: Engine | None = None, *, retry_window: float = 30.0,
                 max_attempts: int = 6, wait_base: float = 0.5, wait_max: float = 8.0) -> None:
        """`senders` maps "zalo"/"messenger"/"telegram" to a configured sender."""
        self.senders, self.engine = senders, engine
        self.retry_window, self.max_attempts, self.wait_base, self.wait_max = \
            retry_window, max_attempts, wait_base, wait_max

    async def send_text(self, sender_id: str, text: str, *, by_human: bool = False, urgent: bool = False) -> None:
        """Send text (split under 2,000 characters); raise RetryLater or GiveUp when a part cannot be delivered."""
        for part in split_text(text):
            await self.send_part(sender_id, part, by_human=by_human, urgent=urgent)

    async def send_part(self, sender_id: str, text: str, *, buttons: Buttons | None = None, by_human: bool = False,
                        urgent: bool = False) -> None:
        """Send one part (already under the limit) with retries; raise RetryLater or GiveUp on final failure."""
        parsed = parse_sender(sender_id)
        if parsed is None:
            await self._failed("unknown", sender_id, "sender id without channel prefix", urgent, by_human)
            raise GiveUp("sender id without channel prefix")
        channel, platform_id = parsed
        sender = self.senders.get(channel)
        if sender is None:
            reason = "channel not configured" if channel in PUSH_CHANNELS else "unknown channel"
            await self._failed(channel, sender_id, reason, urgent, by_human)
            raise GiveUp(reason)
        ctx: dict[str, Any] = {}
        retrying = AsyncRetrying(stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.retry_window),
                                 wait=self._wait, retry=retry_if_exception_type(RetryLater), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    await sender.send_part(platform_id, text, buttons, by_human, ctx)
        except (RetryLater, GiveUp) as exc:
            await self._failed(channel, sender_id, exc.reason, urgent, by_human)
            raise
        except Exception as exc:
            log.exception("unexpected error while sending (channel=%s)", channel)
            await self._failed(channel, sender_id, "internal error", urgent, by_human)
            raise GiveUp("internal error") from exc

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with full jitter; at least what the platform asked for."""
        wait = wait_random_exponential(multiplier=self.wait_base, max=self.wait_max)(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryLater) and exc.after:
            wait = max(wait, float(exc.after))
        return wait

    async def _failed(self, channel: str, sender_id: str, reason: str, urgent: bool, by_human: bool) -> None:
        if urgent:
            log.critical("URGENT REPLY NOT DELIVERED: channel=%s sender_ref=%s reason=%s", channel,
                         sender_ref(sender_id), reason)
        else:
            log.error("reply not delivered: channel=%s sender_ref=%s reason=%s by_human=%s", channel,
                      sender_ref(sender_id), reason, by_human)
        if self.engine is not None:
            try:
                await asyncio.to_thread(record_failure, self.engine, channel, sender_id, reason, urgent=urgent,
                                        by_human=by_human)
            except Exception:
                log.error("could not record the delivery failure in the database")

    async def aclose(self) -> None:
        """Release the senders' own resources (the HTTP session belongs to the caller)."""
        for sender in self.senders.values():
            await sender.close()
