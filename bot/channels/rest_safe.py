"""Rasa's REST channel with the safety net: an urgent message always gets the hotline reply and a case.

The reply body is Rasa's own; the urgency verdict, the "answered with a case" test (the case marker,
else a case row for the message) and the hotline reply are the platform channels' (`bot.channels.turn`,
`bot.channels.safety_net`). A conversation a counselor owns gets no safety reply.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot.channels.collector import MarkingCollector
from bot.channels.items import BotReply
from bot.channels.safety_net import case_opened_for, owned_by_counselor, safety_reply
from bot.channels.turn import safety_net_needed
from bot.runtime import Runtime, process_runtime
from bot.senders import make_sender
from bot.triage import assess

log = logging.getLogger(__name__)
TURN_TIMEOUT_S = 20.0


async def guarded_turn(message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                       rt: Runtime, timeout: float = TURN_TIMEOUT_S) -> None:
    """Run the assistant on a REST message, then add the hotline reply if the policy asks for it."""
    verdict = assess(message.text or "")
    collector = message.output_channel
    if isinstance(collector, CollectingOutputChannel) and isinstance(collector.messages, list):
        collector = message.output_channel = MarkingCollector(collector.messages)
    try:
        await asyncio.wait_for(on_new_message(message), timeout=timeout)
    except Exception:
        log.exception("assistant failed on a REST message")
    if not isinstance(collector, CollectingOutputChannel):
        return
    # Streamed (?stream=true): the replies are gone already; the case row tells whether one was opened.
    streamed = not isinstance(collector.messages, list)
    texts = ["…"] if streamed else [m.get("text") or "" for m in collector.messages]
    reply = BotReply(tuple((t, None) for t in texts), getattr(collector, "case_marked", False))

    async def case_exists(message_id: str) -> bool:
        return await asyncio.to_thread(case_opened_for, rt.engine, message_id)

    if not await safety_net_needed(verdict, reply, message.message_id, case_exists):
        return
    if await asyncio.to_thread(owned_by_counselor, rt.engine, message.sender_id):
        return
    extra = await asyncio.to_thread(safety_reply, rt.library, rt.store, message.sender_id, message.text or "",
                                    verdict, message.message_id)
    await collector.send_text_message(message.sender_id, extra)


class SafeRestInput(RestInput):
    """`POST /webhooks/rest/webhook`, as Rasa's, plus a hotline reply if the assistant fails."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Any) -> Text | None:
        """The body's sender in the REST namespace: `"telegram:42"` becomes `rest:telegram:42`, never a Telegram user.

        The body is unauthenticated, so no client may write into (or open a case for, or delete) another
        channel's conversation; an absent sender stays absent (Rasa's `default`).
        """
        sender = await super()._extract_sender(req)
        return None if sender is None else make_sender(self.name(), str(sender))

    def _extract_input_channel(self, req: Any) -> Text:
        """Always this channel, whatever the body claims."""
        return self.name()

    def get_metadata(self, request: Any) -> dict[Text, Any] | None:
        """Client-supplied metadata is ignored (it is not trusted)."""
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """Wrap message handling so an urgent message never goes unanswered; build the runtime at start."""

        async def guarded(message: UserMessage) -> None:
            await guarded_turn(message, on_new_message, process_runtime())

        async def build_runtime(app: Any, loop: Any = None) -> None:
            """The process runtime is built before the first message, not on it."""
            await asyncio.to_thread(process_runtime)

        bp = super().blueprint(guarded)
        bp.listener("before_server_start")(build_runtime)
        return bp
