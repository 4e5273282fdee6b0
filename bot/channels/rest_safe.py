"""Rasa's REST channel with the safety net: urgent messages always get the hotline reply."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot.safety import ensure_hotline

log = logging.getLogger(__name__)
TURN_TIMEOUT_S = 20.0


class SafeRestInput(RestInput):
    """`POST /webhooks/rest/webhook`, as Rasa's, plus a hotline reply if the assistant fails."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """Wrap message handling so an urgent message never goes unanswered."""

        async def guarded(message: UserMessage) -> None:
            try:
                await asyncio.wait_for(on_new_message(message), timeout=TURN_TIMEOUT_S)
            except Exception:
                log.exception("assistant failed on a REST message")
            collector = message.output_channel
            if isinstance(collector, CollectingOutputChannel):
                texts = [m.get("text") or "" for m in collector.messages]
                extra = await ensure_hotline(message.sender_id, message.text or "", texts, message.message_id)
                if extra:
                    await collector.send_text_message(message.sender_id, extra)

        return super().blueprint(guarded)
