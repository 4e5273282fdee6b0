"""Sending to the counselors' group and the supervisor: the outbox handlers of the `tg_*` row kinds.

Cards are rendered from the case row when they are sent, so a retried card shows the current state.
Errors are those of `bot.clients.telegram.call` with `refusals_final=False`: a refusal by Telegram is a
configuration problem someone will fix, so the row is retried and /health says notifications fail. A direct
message to one person on duty (`direct` in the payload) is a courtesy beside the group's: refused, it is given up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode

from bot.cases.models import CLAIMED, Case, CaseEvent
from bot.clients.telegram import call
from bot.db.engine import session_factory
from bot.desk import cards
from bot.desk.commands import DESK
from bot.desk.models import TelegramMessage
from bot.desk.settings import DeskSettings
from bot.outbox.dispatcher import Delivery
from bot.outbox.errors import DeliveryError, GiveUp, Skip
from bot.timeutil import Clock

log = logging.getLogger(__name__)
Commit = Callable[[Session], None]
KINDS = ("tg_card", "tg_supervisor_card", "tg_refresh", "tg_notice", "tg_forward")


def keyboard(case: Case) -> InlineKeyboardMarkup | None:
    """The card's inline buttons for the case's status (none once resolved)."""
    buttons = cards.card_buttons(case)
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])


async def skip_telegram(item: Delivery) -> None:
    """The handler of every `tg_*` kind when notifications are off: the row ends `skipped` at once."""
    raise Skip("telegram notifications are off")


def skipping_handlers() -> dict[str, Callable[[Delivery], Awaitable[None]]]:
    """Outbox handlers for a desk without Telegram."""
    return {kind: skip_telegram for kind in KINDS}


class CardSender:
    """Delivers the `tg_*` outbox rows; the bot, engine and clock are passed in."""

    def __init__(self, bot: Bot, engine: Engine, settings: DeskSettings, clock: Clock) -> None:
        """Nothing is sent before the dispatcher calls a handler."""
        self.bot = bot
        self.Session = session_factory(engine)
        self.settings = settings
        self.clock = clock

    def handlers(self) -> dict[str, Callable[[Delivery], Awaitable[Commit | None]]]:
        """Outbox handlers by kind."""
        return {"tg_card": self.send_card, "tg_supervisor_card": self.send_supervisor_card,
                "tg_refresh": self.refresh_cards, "tg_notice": self.send_notice, "tg_forward": self.send_forward}

    async def _call(self, method: Callable[..., Awaitable[Any]], final: bool = False, **kwargs: Any) -> Any:
        await call(self.bot.initialize, refusals_final=False)  # getMe once; a no-op afterwards
        return await call(method, refusals_final=final, **kwargs)

    def _load(self, case_id: int | None) -> tuple[Case, cards.CardExtras]:
        with self.Session() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise GiveUp("case not found")
            events = list(s.execute(select(CaseEvent.kind, CaseEvent.actor).where(
                CaseEvent.case_id == case_id, CaseEvent.kind.in_(("reescalated", "flagged_stale", "resolved")))
            ).all())
        resolved_by = next((a for k, a in reversed(events) if k == "resolved"), None)
        return case, cards.CardExtras(reescalations=sum(1 for k, _ in events if k == "reescalated"),
                                      stale=any(k == "flagged_stale" for k, _ in events), resolved_by=resolved_by)

    def _record(self, s: Session, case_id: int, chat_id: str, message_id: int, role: str) -> None:
        s.add(TelegramMessage(case_id=case_id, chat_id=str(chat_id), message_id=message_id, role=role,
                              created_at=self.clock.now()))

    async def _send_card(self, item: Delivery, chat_id: str, role: str) -> Commit:
        case, extras = await asyncio.to_thread(self._load, item.case_id)
        msg = await self._call(self.bot.send_message, chat_id=chat_id, parse_mode=ParseMode.HTML,
                               text=cards.render_card(case, self.settings.case_url(case.id), extras),
                               reply_markup=keyboard(case), disable_web_page_preview=True)
        now = self.clock.now()
        where = "nhóm tư vấn" if role == "card" else "nhóm giám sát"

        def commit(s: Session) -> None:
            self._record(s, case.id, chat_id, msg.message_id, role)
            s.add(CaseEvent(case_id=case.id, kind="notified", actor=DESK.label,
                            detail=f"Telegram: {where}", at=now))
        return commit

    async def send_card(self, item: Delivery) -> Commit:
        """Post the case card to the counselors' group."""
        return await self._send_card(item, str(self.settings.counselor_chat_id), "card")

    async def send_supervisor_card(self, item: Delivery) -> Commit:
        """Post the case card (with buttons) to the supervisor's chat."""
        if not self.settings.supervisor_chat_id:
            raise Skip("no supervisor chat")
        return await self._send_card(item, str(self.settings.supervisor_chat_id), "supervisor_card")

    async def refresh_cards(self, item: Delivery) -> None:
        """Edit every card of the case to show its current state."""
        case, extras = await asyncio.to_thread(self._load, item.case_id)
        with self.Session() as s:
            posted = list(s.execute(select(TelegramMessage).where(
                TelegramMessage.case_id == case.id, TelegramMessage.role.in_(("card", "supervisor_card")))).scalars())
        text = cards.render_card(case, self.settings.case_url(case.id), extras)
        for msg in posted:
            try:
                await self._call(self.bot.edit_message_text, chat_id=msg.chat_id, message_id=int(msg.message_id),
                                 text=text, parse_mode=ParseMode.HTML, reply_markup=keyboard(case),
                                 disable_web_page_preview=True)
            except DeliveryError:
                if msg.role == "card":
                    raise
                # The supervisor's copy is a courtesy: never let it block the group's card.
                log.warning("could not update the supervisor's copy of case %d", case.id)

    def _card_message_id(self, case_id: int | None) -> int | None:
        with self.Session() as s:
            return s.execute(select(TelegramMessage.message_id).where(
                TelegramMessage.case_id == case_id, TelegramMessage.role == "card",
                TelegramMessage.chat_id == str(self.settings.counselor_chat_id))
                .order_by(TelegramMessage.id).limit(1)).scalar()

    async def _send_text(self, item: Delivery, chat_id: str, text: str, reply_to: int | None) -> Commit:
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        msg = await self._call(self.bot.send_message, bool(item.payload.get("direct")), chat_id=chat_id, text=text,
                               parse_mode=ParseMode.HTML,
                               reply_parameters=reply, disable_web_page_preview=True)
        case_id = item.case_id

        def commit(s: Session) -> None:
            if case_id is not None:
                self._record(s, case_id, chat_id, msg.message_id, "notice")
        return commit

    async def send_notice(self, item: Delivery) -> Commit:
        """A text about a case: to the group (optionally as a reply to the card) or the supervisor."""
        p = item.payload
        target = p.get("chat", "counselor")
        if target == "supervisor":
            if not self.settings.supervisor_chat_id:
                raise Skip("no supervisor chat")
            chat_id = str(self.settings.supervisor_chat_id)
        elif target == "counselor":
            chat_id = str(self.settings.counselor_chat_id)
        else:
            chat_id = str(target)
        reply_to = p.get("reply_to")
        if p.get("reply_to_card"):
            reply_to = await asyncio.to_thread(self._card_message_id, item.case_id)
        return await self._send_text(item, chat_id, str(p["text"]), reply_to)

    async def send_forward(self, item: Delivery) -> Commit:
        """A resident's new message, to the group as a reply to the card (the claimer is mentioned)."""
        with self.Session() as s:
            ev = s.get(CaseEvent, int(item.payload["event_id"]))
            case = s.get(Case, item.case_id)
        if ev is None or case is None:
            raise GiveUp("event not found")
        claimed = case.status == CLAIMED
        text = cards.forward_text(case.id, ev.detail, case.claimed_by if claimed else None)
        claimer_key = (case.claimed_by or "").rsplit("<", 1)[-1].rstrip(">") if claimed else ""
        if claimer_key.startswith("tg:") and claimer_key[3:].isdigit():
            text += f'\n<a href="tg://user?id={claimer_key[3:]}">🔔</a>'
        reply_to = await asyncio.to_thread(self._card_message_id, case.id)
        return await self._send_text(item, str(self.settings.counselor_chat_id), text, reply_to)
