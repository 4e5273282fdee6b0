"""One way to build a Telegram Bot API client and to read its errors, for the residents' and counselors' bots.

Errors become the outbox vocabulary (`bot.outbox.errors`): rate limits and network trouble are
`RetryLater` (with Telegram's own `retry_after`), refusals are `GiveUp` for residents (the user
blocked the bot, the chat is gone) or `RetryLater` for the counselors' group, where a refusal is a
configuration problem someone will fix and a card must not be dropped.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.logsafety import quiet_http_loggers
from bot.outbox.errors import GiveUp, RetryLater

log = logging.getLogger(__name__)
# asyncio.TimeoutError is not the builtin TimeoutError before Python 3.11.
TIMEOUTS = (asyncio.TimeoutError, TimeoutError)


def make_bot(token: str, base_url: str, *, timeout: float = 10.0, pool_size: int = 16,
             poll_timeout: float | None = None) -> Bot:
    """A `telegram.Bot` for `base_url` (ending in `/bot`), with room for parallel sends and long polling."""
    quiet_http_loggers()
    request = HTTPXRequest(connection_pool_size=pool_size, pool_timeout=timeout, connect_timeout=timeout,
                           read_timeout=timeout, write_timeout=timeout)
    updates = None
    if poll_timeout is not None:
        updates = HTTPXRequest(connection_pool_size=2, pool_timeout=timeout, connect_timeout=timeout,
                               read_timeout=poll_timeout + timeout, write_timeout=timeout)
    return Bot(token, base_url=base_url, request=request, get_updates_request=updates)


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after as seconds (an int or a timedelta depending on PTB settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def call(method: Callable[..., Awaitable[Any]], *, refusals_final: bool, **kwargs: Any) -> Any:
    """Call a Bot method and map its errors; an edit that changes nothing returns None."""
    try:
        return await method(**kwargs)
    except RetryAfter as exc:
        raise RetryLater("telegram:429", retry_after_seconds(exc)) from exc
    except BadRequest as exc:
        message = (exc.message or "").lower()
        if "not modified" in message:
            return None
        if "message to edit not found" in message:
            raise GiveUp("telegram:message to edit not found") from exc
        refusal = "telegram:bad request"
        raise (GiveUp(refusal) if refusals_final else RetryLater(refusal)) from exc
    except (Forbidden, InvalidToken) as exc:
        refusal = "telegram:" + ("forbidden" if isinstance(exc, Forbidden) else "invalid token")
        raise (GiveUp(refusal) if refusals_final else RetryLater(refusal)) from exc
    except NetworkError as exc:  # timeouts, 5xx, connection errors
        raise RetryLater("telegram:" + type(exc).__name__) from exc
    except TelegramError as exc:
        reason = "telegram:" + type(exc).__name__
        raise (GiveUp(reason) if refusals_final else RetryLater(reason)) from exc
    except TIMEOUTS as exc:
        raise RetryLater("telegram:timeout") from exc
