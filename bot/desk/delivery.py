"""The outbox handlers for residents: pushes on their channel and events in their Rasa conversation.

Senders raise the one delivery vocabulary (`bot.outbox.errors`); it reaches the dispatcher unchanged,
which also retries any other exception. A Rasa event already in the transcript (a crash after Rasa
stored it, before the row was marked sent) is not appended twice. A transcript write is tried at most
`TRANSCRIPT_MAX_ATTEMPTS` times (Rasa restarting, or refusing the token, must not keep it for ever);
then `on_dead_delivery` leaves a `delivery_failures` row and a log line without any text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.desk import cards
from bot.desk.writes import queue_telegram
from bot.outbox.dispatcher import Delivery
from bot.outbox.errors import GiveUp, Skip
from bot.outbox.models import DeliveryFailure
from bot.senders import channel_of, sender_ref
from bot.timeutil import utcnow

log = logging.getLogger(__name__)
# With the desk's backoff (1 s doubling up to 5 min) 20 attempts span about an hour.
TRANSCRIPT_MAX_ATTEMPTS = 20


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


def on_dead_delivery(telegram_enabled: bool) -> Callable[[Session, Delivery, str], None]:
    """The dispatcher's `on_dead`: record a lost transcript write, and tell the group of a lost counselor push.

    Pushes record their own `delivery_failures` rows (bot.sending.outbound); a counselor's message that
    could not be pushed gets a notice under the case card, so one who replied from Telegram learns it too.
    """
    def record(s: Session, item: Delivery, reason: str) -> None:
        sender = str(item.payload.get("sender_id") or "")
        if item.kind == "resident_push" and item.payload.get("by_human") and item.case_id is not None:
            text = (f"⚠️ Tin nhắn của tư vấn viên chưa tới được người dân (ca #{item.case_id}): không gửi được "
                    f"qua {cards.channel_label(channel_of(sender))}. Xem trạng thái trên bảng điều khiển.")
            queue_telegram(s, enabled=telegram_enabled, key=f"undelivered:{item.id}", kind="tg_notice",
                           case_id=item.case_id, payload={"chat": "counselor", "reply_to_card": True, "text": text},
                           now=utcnow())
        if item.kind != "rasa_events":
            return
        events = item.payload.get("events") or []
        by_human = any((e.get("metadata") or {}).get("handoff") == "counselor" for e in events if isinstance(e, dict))
        s.add(DeliveryFailure(at=utcnow(), channel=channel_of(sender)[:16], sender_id=sender[:200], urgent=False,
                              by_human=by_human, error=(reason or "unknown")[:64]))
        log.error("transcript write not delivered: case=%s sender_ref=%s by_human=%s reason=%s", item.case_id,
                  sender_ref(sender), by_human, reason)
    return record
