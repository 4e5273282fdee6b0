"""Sending to a resident by channel-prefixed sender id: retries within a window, loud failure records.

`build_outbound(http, engine)` gives an `Outbound` with a sender for every platform configured in the
environment; sending to another platform raises GiveUp("channel not configured").
`Outbound.send_text("zalo:<id>", text)` splits the text under the platform limit; each part is
retried on `RetryLater` (timeouts, 5xx, rate limits) with backoff and jitter, at least as long as
the platform asked, within the retry window. A part that cannot be delivered raises `RetryLater`
(still temporary when the window closed) or `GiveUp`, after being recorded in `delivery_failures`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from sqlalchemy.engine import Engine
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from bot.outbox.errors import GiveUp, RetryLater
from bot.outbox.failures import record_failure
from bot.senders import PUSH_CHANNELS, parse_sender, sender_ref
from bot.sending.messenger import MessengerSender
from bot.sending.sender import Sender
from bot.sending.settings import MessengerSettings, SendSettings, SendSettingsLike, TelegramSettings, ZaloSettings
from bot.sending.splitting import Buttons, split_text
from bot.sending.telegram import TelegramSender
from bot.sending.zalo import ZaloSender
from bot.sending.zalo_tokens import ZaloTokens

log = logging.getLogger(__name__)

__all__ = ["Outbound", "Sender", "build_outbound"]


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


def build_outbound(http: aiohttp.ClientSession, engine: Engine, settings: SendSettingsLike | None = None,
                   env: dict[str, str] | None = None) -> Outbound:
    """An Outbound for every channel configured in the environment (others raise GiveUp when used)."""
    rt = settings or SendSettings.from_env(env)
    senders: dict[str, Sender] = {}
    zalo, _ = ZaloSettings.from_env(env)
    if zalo:
        tokens = ZaloTokens(engine, http, zalo, rt.worker_id, timeout=rt.send_timeout)
        senders["zalo"] = ZaloSender(http, zalo, tokens, rt.send_timeout)
    messenger, _ = MessengerSettings.from_env(env)
    if messenger:
        senders["messenger"] = MessengerSender(http, messenger, rt.send_timeout)
    telegram, _ = TelegramSettings.from_env(env)
    if telegram:
        senders["telegram"] = TelegramSender(telegram, rt.send_timeout)
    return Outbound(senders, engine, retry_window=rt.retry_window, max_attempts=rt.max_attempts)
