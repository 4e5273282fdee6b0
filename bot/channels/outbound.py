"""Sending text to residents on Zalo, Messenger and Telegram; used by the channels and the desk.

`Outbound.send_text("zalo:<id>", text)` splits the text at sentence boundaries under the platform
limit, retries timeouts, 5xx and rate limits with backoff and jitter within the retry window, and
raises `SendError` when a part cannot be delivered (recording it in `delivery_failures`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import unicodedata
from typing import Any, Protocol

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

from bot.channels.settings import (
    MessengerSettings,
    RuntimeSettings,
    TelegramSettings,
    ZaloSettings,
)
from bot.channels.store import record_failure

log = logging.getLogger(__name__)

MAX_CHARS = 1990  # every platform's limit is at least 2,000 characters
CHANNELS = ("zalo", "messenger", "telegram")
Buttons = list[dict[str, str]]


class SendError(Exception):
    """A reply could not be delivered (after retries, or not retryable)."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        """`reason` is a short code such as `zalo:-230` or `http 503`; never message text."""
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Retryable(Exception):
    """A failure worth retrying (timeout, 5xx, rate limit)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        """`retry_after`: seconds the platform asked us to wait."""
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class Permanent(Exception):
    """A failure that retrying will not fix (window closed, user blocked the bot, bad token)."""

    def __init__(self, reason: str) -> None:
        """`reason` is a short code."""
        super().__init__(reason)
        self.reason = reason


def sender_ref(sender_id: str) -> str:
    """A short stable reference to a sender for logs (the id itself is not logged)."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:10]


def split_sender(sender_id: str) -> tuple[str, str]:
    """`zalo:123` → ("zalo", "123")."""
    channel, sep, platform_id = sender_id.partition(":")
    if not sep or not platform_id:
        raise SendError("sender id without channel prefix")
    return channel, platform_id


# ---- splitting long text -----------------------------------------------------------------------------

_CUTS = (re.compile(r"\n[ \t]*\n"), re.compile(r"\n"), re.compile(r"[.!?…](?:[\"'”’)\]]*)(?=\s)"),
         re.compile(r"[;:,](?=\s)"), re.compile(r"\s"))


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Split text into parts of at most `limit` characters, preferring paragraph and sentence ends."""
    text = (text or "").strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text[:limit + 1], limit)
        head, text = text[:cut].rstrip(), text[cut:].lstrip()
        if head:
            parts.append(head)
    if text:
        parts.append(text)
    return parts


def _cut_point(window: str, limit: int) -> int:
    """Where to cut: the latest strong boundary in the second half of the window, else a hard cut."""
    floor = limit // 2
    for pattern in _CUTS:
        ends = [m.end() for m in pattern.finditer(window) if floor <= m.end() <= limit]
        if ends:
            return ends[-1]
    cut = limit
    while cut > 1 and unicodedata.combining(window[cut]):  # never separate a letter from its accent
        cut -= 1
    return cut


# ---- senders -----------------------------------------------------------------------------------------

class Sender(Protocol):
    """Sends one part (already under the limit) to one platform user."""

    channel: str

    async def send_part(self, platform_id: str, text: str, buttons: Buttons | None, by_human: bool,
                        ctx: dict[str, Any]) -> None:
        """Raise Retryable or Permanent on failure."""

    async def close(self) -> None:
        """Release resources."""


def _http_failure(status: int, retry_after: str | None = None) -> Exception:
    if status == 429:
        try:
            wait = float(retry_after) if retry_after else None
        except ValueError:
            wait = None
        return Retryable("http 429", wait)
    if status >= 500:
        return Retryable(f"http {status}")
    return Permanent(f"http {status}")


def _options_text(buttons: Buttons | None) -> str:
    """Buttons as a text list, for platforms where the bot sends plain text."""
    titles = [b.get("title", "").strip() for b in buttons or [] if b.get("title")]
    return ("Bạn có thể trả lời:\n" + "\n".join(f"• {t}" for t in titles)) if titles else ""


class ZaloSender:
    """Zalo OA customer-service messages (`/v3.0/oa/message/cs`)."""

    channel = "zalo"

    def __init__(self, http: aiohttp.ClientSession, settings: ZaloSettings, tokens: Any, timeout: float) -> None:
        """`tokens` is a ZaloTokens (current() / refresh(stale))."""
        self.http, self.settings, self.tokens, self.timeout = http, settings, tokens, timeout

    async def send_part(self, platform_id: str, text: str, buttons: Buttons | None, by_human: bool,
                        ctx: dict[str, Any]) -> None:
        """Send one text; -216 → one refresh and one retry; -32 retried; window errors are final."""
        from bot.channels.zalo_auth import TokenError

        options = _options_text(buttons)
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
                raise Permanent("zalo:token") from exc
            if code == -32:
                raise Retryable("zalo:-32")
            if code != 0:
                raise Permanent(f"zalo:{code}")
            ctx["zalo_done"] += 1

    async def _post(self, token: str, user_id: str, text: str) -> int:
        url = f"{self.settings.api_base_url}/v3.0/oa/message/cs"
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        try:
            async with self.http.post(url, json=body, headers={"access_token": token},
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                if resp.status != 200:
                    raise _http_failure(resp.status, resp.headers.get("Retry-After"))
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    raise Permanent("zalo:bad response") from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise Retryable(type(exc).__name__) from exc
        if not isinstance(data, dict) or "error" not in data:
            raise Permanent("zalo:bad response")
        try:
            return int(data["error"])
        except (TypeError, ValueError):
            raise Permanent("zalo:bad response") from None

    async def close(self) -> None:
        """Nothing to release (the session belongs to the caller)."""


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
            raise Retryable(type(exc).__name__) from exc
        if status == 200 and isinstance(data, dict) and data.get("message_id"):
            return
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            code, sub = error.get("code"), error.get("error_subcode")
            reason = f"messenger:{code}" + (f"/{sub}" if sub else "")
            if code in _GRAPH_RETRY or error.get("is_transient") or status >= 500 or status == 429:
                raise Retryable(reason)
            raise Permanent(reason)
        raise _http_failure(status if status != 200 else 502, retry_after)

    async def close(self) -> None:
        """Nothing to release (the session belongs to the caller)."""


class TelegramSender:
    """The residents' Telegram bot, through python-telegram-bot."""

    channel = "telegram"

    def __init__(self, settings: TelegramSettings, timeout: float, bot: Any = None) -> None:
        """A `telegram.Bot` is created on first use unless one is passed in."""
        self.settings, self.timeout, self._bot = settings, timeout, bot

    @property
    def bot(self) -> Any:
        """The python-telegram-bot Bot (created lazily)."""
        if self._bot is None:
            from telegram import Bot
            from telegram.request import HTTPXRequest

            request = HTTPXRequest(connection_pool_size=32, read_timeout=self.timeout,
                                   write_timeout=self.timeout, connect_timeout=self.timeout, pool_timeout=self.timeout)
            self._bot = Bot(self.settings.bot_token, base_url=self.settings.bot_base_url, request=request)
        return self._bot

    async def send_part(self, platform_id: str, text: str, buttons: Buttons | None, by_human: bool,
                        ctx: dict[str, Any]) -> None:
        """sendMessage, with buttons as an inline keyboard."""
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        markup = None
        if buttons:
            rows = []
            for b in buttons:
                title = (b.get("title") or "").strip()
                data = b.get("payload") or title
                if len(data.encode("utf-8")) > 64:
                    data = title.encode("utf-8")[:64].decode("utf-8", "ignore")
                if title and data:
                    rows.append([InlineKeyboardButton(title, callback_data=data)])
            markup = InlineKeyboardMarkup(rows) if rows else None
        await self.call(self.bot.send_message, chat_id=_chat_id(platform_id), text=text, reply_markup=markup)

    async def answer_callback(self, query_id: str) -> None:
        """Answer a callback query (stops the button's spinner)."""
        await self.call(self.bot.answer_callback_query, callback_query_id=query_id)

    @staticmethod
    async def call(method: Any, **kwargs: Any) -> Any:
        """Call a Bot method, mapping its errors to Retryable / Permanent."""
        from telegram.error import (
            BadRequest,
            Forbidden,
            InvalidToken,
            NetworkError,
            RetryAfter,
            TelegramError,
        )

        try:
            return await method(**kwargs)
        except RetryAfter as exc:
            wait = exc.retry_after
            raise Retryable("telegram:429", wait if isinstance(wait, (int, float)) else wait.total_seconds()) \
                from exc
        except BadRequest as exc:
            raise Permanent("telegram:bad request") from exc
        except Forbidden as exc:
            raise Permanent("telegram:forbidden") from exc
        except InvalidToken as exc:
            raise Permanent("telegram:invalid token") from exc
        except NetworkError as exc:  # timeouts, 5xx, connection errors
            raise Retryable("telegram:" + type(exc).__name__) from exc
        except TelegramError as exc:
            raise Permanent("telegram:" + type(exc).__name__) from exc

    async def close(self) -> None:
        """Close the bot's HTTP connections."""
        if self._bot is not None:
            try:
                await self._bot.shutdown()
            except Exception:  # closing must not fail the caller
                log.debug("telegram bot shutdown failed", exc_info=True)


def _chat_id(platform_id: str) -> int | str:
    return int(platform_id) if platform_id.lstrip("-").isdigit() else platform_id


# ---- the outbound facade ---------------------------------------------------------------------------------

class Outbound:
    """Sends to any resident by channel-prefixed sender id, with retries and failure records."""

    def __init__(self, senders: dict[str, Sender], engine: Engine | None = None, *, retry_window: float = 30.0,
                 max_attempts: int = 6, wait_base: float = 0.5, wait_max: float = 8.0) -> None:
        """`senders` maps "zalo"/"messenger"/"telegram" to a configured sender."""
        self.senders, self.engine = senders, engine
        self.retry_window, self.max_attempts, self.wait_base, self.wait_max = \
            retry_window, max_attempts, wait_base, wait_max
        self.failures = 0  # in this process, for tests and logs

    async def send_text(self, sender_id: str, text: str, *, by_human: bool = False, urgent: bool = False) -> None:
        """Send text (split under 2,000 characters); raise SendError when a part cannot be delivered."""
        for part in split_text(text):
            await self.send_part(sender_id, part, by_human=by_human, urgent=urgent)

    async def send_part(self, sender_id: str, text: str, *, buttons: Buttons | None = None, by_human: bool = False,
                        urgent: bool = False) -> None:
        """Send one part (already under the limit) with retries; raise SendError on final failure."""
        try:
            channel, platform_id = split_sender(sender_id)
        except SendError as exc:
            await self._failed("unknown", sender_id, exc.reason, urgent, by_human)
            raise
        sender = self.senders.get(channel)
        if sender is None:
            reason = "channel not configured" if channel in CHANNELS else "unknown channel"
            await self._failed(channel, sender_id, reason, urgent, by_human)
            raise SendError(reason)
        ctx: dict[str, Any] = {}
        retrying = AsyncRetrying(stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.retry_window),
                                 wait=self._wait, retry=retry_if_exception_type(Retryable), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    await sender.send_part(platform_id, text, buttons, by_human, ctx)
        except (Retryable, Permanent) as exc:
            await self._failed(channel, sender_id, exc.reason, urgent, by_human)
            raise SendError(exc.reason, retryable=isinstance(exc, Retryable)) from exc
        except Exception as exc:
            log.exception("unexpected error while sending (channel=%s)", channel)
            await self._failed(channel, sender_id, "internal error", urgent, by_human)
            raise SendError("internal error") from exc

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with full jitter; at least what the platform asked for."""
        wait = wait_random_exponential(multiplier=self.wait_base, max=self.wait_max)(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Retryable) and exc.retry_after:
            wait = max(wait, float(exc.retry_after))
        return wait

    async def _failed(self, channel: str, sender_id: str, reason: str, urgent: bool, by_human: bool) -> None:
        self.failures += 1
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


def build_outbound(http: aiohttp.ClientSession, engine: Engine, settings: RuntimeSettings | None = None,
                   env: dict[str, str] | None = None) -> Outbound:
    """An Outbound for every channel configured in the environment (others raise SendError when used)."""
    from bot.channels.zalo_auth import ZaloTokens

    rt = settings or RuntimeSettings.from_env(env)
    senders: dict[str, Sender] = {}
    zalo, _ = ZaloSettings.from_env(env)
    if zalo:
        senders["zalo"] = ZaloSender(http, zalo, ZaloTokens(engine, http, zalo, rt.worker_id,
                                                            timeout=rt.send_timeout), rt.send_timeout)
    messenger, _ = MessengerSettings.from_env(env)
    if messenger:
        senders["messenger"] = MessengerSender(http, messenger, rt.send_timeout)
    telegram, _ = TelegramSettings.from_env(env)
    if telegram:
        senders["telegram"] = TelegramSender(telegram, rt.send_timeout)
    return Outbound(senders, engine, retry_window=rt.retry_window, max_attempts=rt.max_attempts)
