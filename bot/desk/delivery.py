"""The outbox handlers for residents: pushes on their channel and events in their Rasa conversation.

Senders raise the one delivery vocabulary (`bot.outbox.errors`); it reaches the dispatcher unchanged,
which also retries any other exception. A Rasa event already in the transcript (a crash after Rasa
stored it, before the row was marked sent) is not appended twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.outbox.dispatcher import Delivery
from bot.outbox.errors import GiveUp, Skip

log = logging.getLogger(__name__)


class ResidentSender(Protocol):
    """What the channels provide to reach a resident (bot.sending.outbound.Outbound)."""

    async def send_text(self, sender_id: str, text: str, *, by_human: bool = False) -> None:
        """Send a text to a channel-prefixed sender id; raises RetryLater / GiveUp on failure."""
        ...


class RasaEvents(Protocol):
    """Rasa's HTTP API as the desk uses it (bot.desk.rasa.RasaClient)."""

    async def append_events(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Append events to a conversation; raises RetryLater / GiveUp on failure."""
        ...


class DeliveredKeys(Protocol):
    """Reads which desk messages a conversation already holds (bot.desk.rasa.TranscriptReader)."""

    def delivered_keys(self, sender_id: str) -> set[str] | None:
        """`desk_key`s already in the conversation, None when that cannot be known."""
        ...


def resident_handlers(outbound: ResidentSender | None, rasa: RasaEvents | None,
                      transcripts: DeliveredKeys) -> dict[str, Callable[[Delivery], Awaitable[None]]]:
    """Handlers of `resident_push` and `rasa_events` rows."""
    warned: set[str] = set()

    async def rasa_events(item: Delivery) -> None:
        if rasa is None:
            raise Skip("no Rasa API configured")
        sender, events = str(item.payload["sender_id"]), list(item.payload["events"])
        keys = {str((e.get("metadata") or {}).get("desk_key")) for e in events if e.get("event") == "bot"}
        if keys:
            done = await asyncio.to_thread(transcripts.delivered_keys, sender)
            if done is not None and keys <= done:
                return
        await rasa.append_events(sender, events)

    async def resident_push(item: Delivery) -> None:
        if outbound is None:
            if "outbound" not in warned:
                warned.add("outbound")
                log.warning("no channel sender (bot.sending.outbound) available; counselor messages reach "
                            "residents only through the conversation transcript")
            raise GiveUp("no channel sender available")
        await outbound.send_text(str(item.payload["sender_id"]), str(item.payload["text"]),
                                 by_human=bool(item.payload.get("by_human")))

    return {"rasa_events": rasa_events, "resident_push": resident_push}
