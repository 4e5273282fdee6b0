"""The residents' Telegram bot out: sendMessage with buttons as an inline keyboard, and callback answers.

Calls go through `bot.clients.telegram.call` with refusals final (a resident who blocked the bot, or
a chat that does not exist, will not change by retrying); rate limits and server errors are RetryLater.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.clients.telegram import call, make_bot
from bot.sending.settings import TelegramSettings
from bot.sending.splitting import Buttons

log = logging.getLogger(__name__)


def inline_keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    """Buttons as an inline keyboard; callback data is cut to Telegram's 64 bytes."""
    rows = []
    for b in buttons or []:
        title = (b.get("title") or "").strip()
        data = b.get("payload") or title
        if len(data.encode("utf-8")) > 64:
            data = title.encode("utf-8")[:64].decode("utf-8", "ignore")
        if title and data:
            rows.append([InlineKeyboardButton(title, callback_data=data)])
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramSender:
    """The residents' Telegram bot, through python-telegram-bot."""

    channel = "telegram"

    def __init__(self, settings: TelegramSettings, timeout: float, bot: Bot | None = None) -> None:
        """A `telegram.Bot` is built here unless one is passed in (it connects on first use)."""
        self.settings, self.timeout = settings, timeout
        self.bot = bot or make_bot(settings.bot_token, settings.bot_base_url, timeout=timeout, pool_size=32)

    async def send_part(self, platform_id: str, text: str, buttons: Buttons | None, by_human: bool,
                        ctx: dict[str, Any]) -> None:
        """sendMessage, with buttons as an inline keyboard."""
        await call(self.bot.send_message, refusals_final=True, chat_id=_chat_id(platform_id), text=text,
                   reply_markup=inline_keyboard(buttons))

    async def answer_callback(self, query_id: str) -> None:
        """Answer a callback query (stops the button's spinner)."""
        await call(self.bot.answer_callback_query, refusals_final=True, callback_query_id=query_id)

    async def close(self) -> None:
        """Close the bot's HTTP connections."""
        try:
            await self.bot.shutdown()
        except Exception:  # closing must not fail the caller
            log.debug("telegram bot shutdown failed", exc_info=True)


def _chat_id(platform_id: str) -> int | str:
    return int(platform_id) if platform_id.lstrip("-").isdigit() else platform_id
