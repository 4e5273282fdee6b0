"""Rasa's output side for the channels: collect one turn's replies (and the case marker), or send at once.

The case marker (`bot.replies.CASE_MARKER`) arrives as metadata of a bot message; it is noted here
and never becomes text, on any channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage

from bot.channels.items import BotReply, Item, Part
from bot.replies import carries_case
from bot.sending.outbound import Outbound
from bot.sending.splitting import split_text

log = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


class ReplyCollector(CollectingOutputChannel):
    """Collects the bot's replies of one turn without splitting them (the channel splits under the limit)."""

    def __init__(self, channel: str) -> None:
        """`channel` is returned by name() so channel-specific responses work."""
        super().__init__()
        self._channel = channel
        self.case_marked = False

    def name(self) -> str:  # type: ignore[override]
        """The input channel's name."""
        return self._channel

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Keep the text whole (Rasa's collector splits at blank lines; Zalo caps messages per 48 h)."""
        await self._persist_message(self._message(recipient_id, text=text.strip()))

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Keep text, buttons and quick replies together in one collected message; note the case marker."""
        self.case_marked = self.case_marked or carries_case(message)
        buttons = message.get("quick_replies") or message.get("buttons")
        text = message.get("text") or ""
        if buttons:
            await self.send_text_with_buttons(recipient_id, text, buttons)
        elif text:
            await self.send_text_message(recipient_id, text)
        if message.get("image"):
            await self.send_image_url(recipient_id, message["image"])
        if message.get("attachment"):
            await self.send_attachment(recipient_id, message["attachment"])
        if message.get("custom"):
            await self.send_custom_json(recipient_id, message["custom"])

    def parts(self) -> tuple[Part, ...]:
        """The collected replies as (text under the limit, buttons on the last part)."""
        out: list[Part] = []
        for m in self.messages:
            text = (m.get("text") or "").strip()
            for extra in (m.get("image"), m.get("attachment")):
                if isinstance(extra, str) and extra:
                    text = f"{text}\n{extra}".strip()
            buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                       for b in m.get("buttons") or [] if isinstance(b, dict) and b.get("title")]
            chunks = split_text(text) or ([""] if buttons else [])
            for i, chunk in enumerate(chunks):
                last = i == len(chunks) - 1
                out.append((chunk or "…", buttons if last and buttons else None))
        return tuple(out)

    def reply(self, failed: str = "") -> BotReply:
        """What was collected, as the turn policy reads it."""
        return BotReply(self.parts(), self.case_marked, failed)


class MarkingCollector(CollectingOutputChannel):
    """Rasa's REST collector, unchanged for the caller, that also notes the case marker."""

    def __init__(self, messages: list[dict[str, Any]] | None = None) -> None:
        """`messages`: the list the REST response is built from (shared, so nothing is copied)."""
        super().__init__()
        if messages is not None:
            self.messages = messages
        self.case_marked = False

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Note the marker, then collect as Rasa does (the marker is metadata, not text)."""
        self.case_marked = self.case_marked or carries_case(message)
        await super().send_response(recipient_id, message)


class LiveOutputChannel(OutputChannel):
    """Sends at once through Outbound (used when Rasa's HTTP API asks for this channel's output)."""

    def __init__(self, channel: str, outbound: Outbound) -> None:
        """Bound to a channel name and the shared Outbound."""
        self._channel, self.outbound = channel, outbound

    def name(self) -> str:  # type: ignore[override]
        """The input channel's name."""
        return self._channel

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text to a prefixed sender id."""
        await self.outbound.send_text(recipient_id, text)


async def run_assistant(on_new_message: Handler, item: Item, text: str, timeout: float) -> BotReply:
    """Run one Rasa turn for an event with a timeout; a failure is folded into `BotReply.failed`."""
    collector = ReplyCollector(item.channel)
    message = UserMessage(text, collector, item.sender_id, input_channel=item.channel, message_id=item.key,
                          metadata=item.data.get("metadata"))
    try:
        await asyncio.wait_for(on_new_message(message), timeout=timeout)
    except asyncio.TimeoutError:
        log.error("assistant timed out after %.0f s (channel=%s)", timeout, item.channel)
        return collector.reply("timeout")
    except Exception as exc:  # any failure of the assistant falls back to the safety net
        log.error("assistant failed (channel=%s): %s", item.channel, type(exc).__name__)
        log.debug("assistant failure", exc_info=True)
        return collector.reply(type(exc).__name__)
    return collector.reply()
