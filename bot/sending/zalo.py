"""Zalo OA customer-service messages out (`/v3.0/oa/message/cs`), mapped to RetryLater / GiveUp.

A stale access token (-216) is refreshed once through `bot.sending.zalo_tokens` and the send retried;
-32 (rate limit) is temporary; every other Zalo error, the messaging-window ones included, is final.
Buttons become a text list, since customer-service messages are plain text.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from bot.outbox.errors import GiveUp, RetryLater
from bot.sending.sender import http_failure
from bot.sending.settings import ZaloSettings
from bot.sending.splitting import MAX_CHARS, Buttons
from bot.sending.zalo_tokens import TokenError, ZaloTokens


def options_text(buttons: Buttons | None) -> str:
    """Buttons as a text list (Zalo customer-service messages are plain text)."""
    titles = [b.get("title", "").strip() for b in buttons or [] if b.get("title")]
    return ("Bạn có thể trả lời:\n" + "\n".join(f"• {t}" for t in titles)) if titles else ""


class ZaloSender:
    """Zalo OA customer-service messages (`/v3.0/oa/message/cs`)."""

    channel = "zalo"

    def __init__(self, http: aiohttp.ClientSession, settings: ZaloSettings, tokens: ZaloTokens,
                 timeout: float) -> None:
        """`tokens` gives the current access token and refreshes a stale one."""
        self.http, self.settings, self.tokens, self.timeout = http, settings, tokens, timeout

    async def send_part(self, platform_id: str, text: str, buttons: Buttons | None, by_human: bool,
                        ctx: dict[str, Any]) -> None:
        """Send one text; -216 → one refresh and one retry; -32 retried; window errors are final."""
        options = options_text(buttons)
        texts = [f"{text}\n\n{options}"] if options and len(text) + len(options) + 2 <= MAX_CHARS else \
            [t for t in (text, options) if t]
        for piece in texts[ctx.setdefault("zalo_done", 0):]:
            try:
                token = await self.tokens.current()
                code = await self._post(token, platform_id, piece)
                if code == -216 and not ctx.get("refreshed"):
                    ctx["refreshed"] = True
                    token = await self.tokens.refresh(token)
                    code = await self._post(token, platform_id, piece)
            except TokenError as exc:
                raise GiveUp("zalo:token") from exc
            if code == -32:
                raise RetryLater("zalo:-32")
            if code != 0:
                raise GiveUp(f"zalo:{code}")
            ctx["zalo_done"] += 1

    async def _post(self, token: str, user_id: str, text: str) -> int:
        url = f"{self.settings.api_base_url}/v3.0/oa/message/cs"
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        try:
            async with self.http.post(url, json=body, headers={"access_token": token},
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                if resp.status != 200:
                    raise http_failure(resp.status, resp.headers.get("Retry-After"))
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    raise GiveUp("zalo:bad response") from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RetryLater(type(exc).__name__) from exc
        if not isinstance(data, dict) or "error" not in data:
            raise GiveUp("zalo:bad response")
        try:
            return int(data["error"])
        except (TypeError, ValueError):
            raise GiveUp("zalo:bad response") from None

    async def close(self) -> None:
        """Nothing to release (the session belongs to the caller)."""
