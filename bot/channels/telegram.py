"""Telegram channel for residents (python-telegram-bot): updates in at POST /webhooks/telegram/webhook, sendMessage out.

A separate bot from the counselors' desk bot. Configured in credentials.yml as
`bot.channels.telegram.TelegramInput:` (settings from TELEGRAM_RESIDENT_* variables). Updates are
accepted only with the secret token set in setWebhook; private chats only. Only the commands in
COMMANDS reach the bot as commands; any other text (typed, a caption, an unknown command) is read
as words, and a button press only as a bare `/intent` (`bot.channels.intake`). Updates carry no
signed time: the secret token (sent by Telegram over HTTPS only) is what keeps replays out, and
whoever holds it could forge any update anyway, so there is no replay window here. Replies go out
through `bot.sending.telegram.TelegramSender` (on `bot.clients.telegram`: a refusal is final for a resident).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from telegram import Update

from bot.channels.base import Parsed, ResidentChannel, WebhookError, header, parse_json
from bot.channels.intake import button_payload, neutralise
from bot.channels.items import ATTACHMENT, DELETE_REQUEST_TEXT, NOOP, TEXT, WELCOME, Item
from bot.channels.runtime import ChannelRuntime
from bot.outbox.errors import DeliveryError
from bot.sending.sender import Sender
from bot.sending.settings import TelegramSettings
from bot.sending.telegram import TelegramSender
from bot.tokens import same_secret

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# None: welcome. /dangky and /huy subscribe and unsubscribe (bot.outreach); any other slash text is words.
COMMANDS = {"/start": None, "/help": None, "/xoa": DELETE_REQUEST_TEXT, "/dangky": "/subscribe",
            "/huy": "/unsubscribe"}
# Message attributes that carry something other than text, in the order they are checked.
ATTACHMENTS = (("animation", "gif"), ("sticker", "sticker"), ("photo", "image"), ("voice", "voice"),
               ("audio", "audio"), ("video_note", "video"), ("video", "video"), ("document", "file"),
               ("venue", "location"), ("location", "location"), ("contact", "contact"))


def verify_secret(expected: str, headers: Mapping[str, str]) -> bool:
    """True when X-Telegram-Bot-Api-Secret-Token equals the secret set with setWebhook."""
    given = header(headers, SECRET_HEADER)
    return same_secret(given, expected)


def _command_item(base: dict[str, Any], text: str) -> Item:
    command = text.split(maxsplit=1)[0].split("@", 1)[0].lower()
    if command in COMMANDS:
        mapped = COMMANDS[command]
        return Item(**base, kind=WELCOME) if mapped is None else Item(**base, kind=TEXT, text=mapped)
    # An unknown command is read as words, never as an intent name.
    return Item(**base, kind=TEXT, text=neutralise(text))


def parse_telegram_update(body: Any) -> Parsed:
    """One Update → an inbox item keyed by update_id; group chats and other update types are skipped."""
    if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
        raise WebhookError(400, "missing update_id")
    try:
        update = Update.de_json(body, None)
    except Exception:
        raise WebhookError(400, "invalid update") from None
    key = f"telegram:{update.update_id}"
    query = update.callback_query
    if query is not None:
        chat = query.message.chat if query.message is not None else None
        if chat is not None and chat.type != "private":
            return Parsed(skipped=1)
        chat_id = chat.id if chat is not None else query.from_user.id
        data = {"callback_query_id": query.id}
        if query.data:
            return Parsed([Item(key=key, channel="telegram", sender_id=f"telegram:{chat_id}", kind=TEXT,
                                text=button_payload(query.data), data=data)])
        return Parsed([Item(key=key, channel="telegram", sender_id=f"telegram:{chat_id}", kind=NOOP, data=data)])
    message = update.message
    if message is None or message.chat.type != "private":
        return Parsed(skipped=1)  # edited messages, channel posts, groups, member updates…
    base = {"key": key, "channel": "telegram", "sender_id": f"telegram:{message.chat.id}"}
    if message.text and message.text.lstrip().startswith("/"):
        return Parsed([_command_item(base, message.text.lstrip())])
    text = neutralise(message.text or message.caption or "")
    if text.strip():
        return Parsed([Item(**base, kind=TEXT, text=text)])
    for attr, kind in ATTACHMENTS:
        if getattr(message, attr, None):
            return Parsed([Item(**base, kind=ATTACHMENT, data={"attachment": kind})])
    return Parsed(skipped=1)


class TelegramInput(ResidentChannel):
    """Residents writing to the residents' Telegram bot."""

    settings_class = TelegramSettings

    @classmethod
    def name(cls) -> str:
        """Mounted at /webhooks/telegram/."""
        return "telegram"

    def parse_webhook(self, headers: Mapping[str, str], raw: bytes) -> Parsed:
        """403 unless the secret-token header matches; 400 for a malformed update."""
        if not verify_secret(self.settings.webhook_secret, headers):
            raise WebhookError(403, "invalid secret token")
        return parse_telegram_update(parse_json(raw))

    def make_sender(self, runtime: ChannelRuntime) -> Sender:
        """The residents' bot as a sender."""
        return TelegramSender(self.settings, runtime.settings.send_timeout)

    async def before_process(self, item: Item) -> None:
        """Answer a button press first, so the resident's button stops spinning."""
        query_id = item.data.get("callback_query_id")
        sender = self.runtime.outbound.senders.get("telegram") if self.runtime else None
        if not query_id or not isinstance(sender, TelegramSender):
            return
        try:
            await sender.answer_callback(query_id)
        except DeliveryError as exc:
            log.warning("could not answer a callback query: %s", exc.reason)
