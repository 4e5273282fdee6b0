"""Messenger Send API out (`/me/messages`): the bot replies with the RESPONSE type, a counselor with HUMAN_AGENT.

Buttons become quick replies (at most 13, titles cut to 20 characters). Graph API errors worth
retrying (temporary, rate limits, 5xx) raise RetryLater; the rest, e.g. outside the window, GiveUp.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from bot.outbox.errors import GiveUp, RetryLater
from bot.sending.sender import http_failure
from bot.sending.settings import MessengerSettings
from bot.sending.splitting import Buttons

# Graph API error codes worth retrying: unknown/temporary/rate limits/temporary send failure.
_GRAPH_RETRY = {1, 2, 4, 17, 32, 613, 1200}


class MessengerSender:
    """Messenger Send API (`/me/messages`)."""

    channel = "messenger"

    def __init__(self, http: aiohttp.ClientSession, settings: MessengerSettings, timeout: float) -> None:
        """The HTTP session is passed in."""
        self.http, self.settings, self.timeout = http, settings, timeout

    async def send_part(self, platform_id: str, text: str, buttons: Buttons | None, by_human: bool,
                        ctx: dict[str, Any]) -> None:
        """RESPONSE for the bot; MESSAGE_TAG + HUMAN_AGENT only for a counselor's reply."""
        message: dict[str, Any] = {"text": text}
        if buttons:
            message["quick_replies"] = [
                {"content_type": "text", "title": (b.get("title") or "")[:20],
                 "payload": (b.get("payload") or b.get("title") or "")[:1000]} for b in buttons[:13]]
        body: dict[str, Any] = {"recipient": {"id": platform_id}, "message": message}
        if by_human:
            body.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
        else:
            body["messaging_type"] = "RESPONSE"
        url = f"{self.settings.graph_base_url}/{self.settings.graph_version}/me/messages"
        try:
            async with self.http.post(url, json=body, params={"access_token": self.settings.page_access_token},
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    data = None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RetryLater(type(exc).__name__) from exc
        if status == 200 and isinstance(data, dict) and data.get("message_id"):
            return
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            code, sub = error.get("code"), error.get("error_subcode")
            reason = f"messenger:{code}" + (f"/{sub}" if sub else "")
            if code in _GRAPH_RETRY or error.get("is_transient") or status >= 500 or status == 429:
                raise RetryLater(reason)
            raise GiveUp(reason)
        raise http_failure(status if status != 200 else 502, retry_after)

    async def close(self) -> None:
        """Nothing to release (the session belongs to the caller)."""
