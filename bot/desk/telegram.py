"""The counselors' Telegram group: delivering cards and notices, and handling buttons and replies."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.cases import Case, CaseEvent
from bot.db import session_factory
from bot.desk import cards
from bot.desk.clock import Clock
from bot.desk.models import Account, SeenUpdate, TelegramMessage
from bot.desk.outbox import TIMEOUTS, Delivery, GiveUp, RetryLater, Skip
from bot.desk.service import DESK, Actor, DeskService, with_retry
from bot.desk.settings import DeskSettings

log = logging.getLogger(__name__)
MEMBER_OK = frozenset({"creator", "administrator", "member"})
_DATA_RE = re.compile(r"^(claim|resolve):(\d{1,12})$")
ALLOWED_UPDATES = ["message", "callback_query"]


def quiet_http_loggers() -> None:
    """httpx/httpcore log request URLs at INFO, and a Bot API URL contains the bot token."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (0) would follow the root logger
            logger.setLevel(logging.WARNING)


def make_bot(settings: DeskSettings) -> Bot:
    """A python-telegram-bot `Bot` for the configured API base URL, with room for parallel sends."""
    assert settings.telegram_token
    quiet_http_loggers()
    request = HTTPXRequest(connection_pool_size=16, pool_timeout=10.0, connect_timeout=5.0,
                           read_timeout=10.0, write_timeout=10.0)
    updates = HTTPXRequest(connection_pool_size=2, pool_timeout=10.0, connect_timeout=5.0,
                           read_timeout=settings.poll_timeout + 10.0, write_timeout=10.0)
    return Bot(settings.telegram_token, base_url=f"{settings.telegram_api_base_url}/bot",
               request=request, get_updates_request=updates)


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after as seconds (an int or a timedelta depending on PTB settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _keyboard(case: Case) -> InlineKeyboardMarkup | None:
    buttons = cards.card_buttons(case)
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])


def display_name(user: dict[str, Any]) -> str:
    """A Telegram user's name, for the case history."""
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p).strip()
    if user.get("username"):
        name = f"{name} (@{user['username']})" if name else f"@{user['username']}"
    return name[:120] or f"Telegram {user.get('id')}"


class TelegramGateway:
    """Sends through the outbox, receives updates (webhook or long polling), checks group membership."""

    def __init__(self, bot: Bot, engine: Engine, settings: DeskSettings, service: DeskService,
                 clock: Clock) -> None:
        """The bot, engine and service are passed in."""
        self.bot = bot
        self.engine = engine
        self.Session = session_factory(engine)
        self.settings = settings
        self.service = service
        self.clock = clock
        self._members: dict[tuple[str, int], tuple[bool, float]] = {}
        self._initialized = False
        self.updates_state = "ok"
        self.on_change: Callable[[], None] = lambda: None

    # ---- lifecycle -------------------------------------------------------------------------
    async def ensure_initialized(self) -> None:
        """Call getMe once (python-telegram-bot wants it before use)."""
        if not self._initialized:
            await self.bot.initialize()
            self._initialized = True

    async def shutdown(self) -> None:
        """Close the bot's HTTP clients."""
        try:
            await self.bot.shutdown()
        except Exception:  # shutting down anyway
            log.debug("bot shutdown failed", exc_info=True)

    def handlers(self) -> dict[str, Callable[[Delivery], Any]]:
        """Outbox handlers by kind."""
        return {"tg_card": self.send_card, "tg_supervisor_card": self.send_supervisor_card,
                "tg_refresh": self.refresh_cards, "tg_notice": self.send_notice, "tg_forward": self.send_forward}

    # ---- sending -------------------------------------------------------------------------------
    async def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        if not self.settings.telegram_enabled:
            raise Skip("telegram notifications are off")
        try:
            await self.ensure_initialized()
            return await fn(**kwargs)
        except RetryAfter as exc:
            raise RetryLater("telegram rate limit", retry_after_seconds(exc)) from exc
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return None
            if "message to edit not found" in exc.message.lower():
                raise GiveUp("message to edit not found") from exc
            raise RetryLater(f"telegram refused: {exc.message[:120]}") from exc
        except (Forbidden, InvalidToken) as exc:
            raise RetryLater(f"telegram refused: {type(exc).__name__}") from exc
        except TelegramError as exc:
            raise RetryLater(f"telegram error: {type(exc).__name__}") from exc
        except TIMEOUTS as exc:
            raise RetryLater("telegram timed out") from exc

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

    async def _send_card(self, item: Delivery, chat_id: str, role: str) -> Callable[[Session], None]:
        case, extras = await asyncio.to_thread(self._load, item.case_id)
        msg = await self._call(self.bot.send_message, chat_id=chat_id, parse_mode=ParseMode.HTML,
                               text=cards.render_card(case, self.settings.case_url(case.id), extras),
                               reply_markup=_keyboard(case), disable_web_page_preview=True)
        now = self.clock.now()
        where = "nhóm tư vấn" if role == "card" else "nhóm giám sát"

        def commit(s: Session) -> None:
            self._record(s, case.id, chat_id, msg.message_id, role)
            s.add(CaseEvent(case_id=case.id, kind="notified", actor=DESK.label,
                            detail=f"Telegram: {where}", at=now))
        return commit

    async def send_card(self, item: Delivery) -> Callable[[Session], None]:
        """Post the case card to the counselors' group."""
        return await self._send_card(item, str(self.settings.counselor_chat_id), "card")

    async def send_supervisor_card(self, item: Delivery) -> Callable[[Session], None]:
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
                                 text=text, parse_mode=ParseMode.HTML, reply_markup=_keyboard(case),
                                 disable_web_page_preview=True)
            except (RetryLater, GiveUp):
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

    async def _send_text(self, item: Delivery, chat_id: str, text: str, reply_to: int | None,
                         role: str) -> Callable[[Session], None]:
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        msg = await self._call(self.bot.send_message, chat_id=chat_id, text=text, parse_mode=ParseMode.HTML,
                               reply_parameters=reply, disable_web_page_preview=True)
        case_id = item.case_id

        def commit(s: Session) -> None:
            if case_id is not None:
                self._record(s, case_id, chat_id, msg.message_id, role)
        return commit

    async def send_notice(self, item: Delivery) -> Callable[[Session], None]:
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
        return await self._send_text(item, chat_id, str(p["text"]), reply_to, "notice")

    async def send_forward(self, item: Delivery) -> Callable[[Session], None]:
        """A resident's new message, to the group as a reply to the card (the claimer is mentioned)."""
        with self.Session() as s:
            ev = s.get(CaseEvent, int(item.payload["event_id"]))
            case = s.get(Case, item.case_id)
        if ev is None or case is None:
            raise GiveUp("event not found")
        text = cards.forward_text(case.id, ev.detail, case.claimed_by if case.status == "claimed" else None)
        claimer_key = (case.claimed_by or "").rsplit("<", 1)[-1].rstrip(">") if case.status == "claimed" else ""
        if claimer_key.startswith("tg:") and claimer_key[3:].isdigit():
            text += f'\n<a href="tg://user?id={claimer_key[3:]}">🔔</a>'
        reply_to = await asyncio.to_thread(self._card_message_id, case.id)
        return await self._send_text(item, str(self.settings.counselor_chat_id), text, reply_to, "notice")

    # ---- receiving ---------------------------------------------------------------------------------
    def _allowed_chats(self) -> set[str]:
        return {str(c) for c in (self.settings.counselor_chat_id, self.settings.supervisor_chat_id) if c}

    async def is_member(self, user_id: int) -> bool:
        """True when the user belongs to the counselors' group (or the supervisor's chat); cached briefly."""
        now = time.monotonic()
        for chat in self._allowed_chats():
            cached = self._members.get((chat, user_id))
            if cached and cached[1] > now:
                if cached[0]:
                    return True
                continue
            try:
                await self.ensure_initialized()
                member = await self.bot.get_chat_member(chat_id=chat, user_id=user_id)
            except TelegramError:
                log.warning("could not check group membership")
                continue
            ok = member.status in MEMBER_OK or (member.status == "restricted" and bool(
                getattr(member, "is_member", False)))
            self._members[(chat, user_id)] = (ok, now + (60 if ok else 10))
            if ok:
                return True
        return False

    def _actor(self, user: dict[str, Any]) -> Actor:
        uid = int(user["id"])
        with self.Session() as s:
            account = s.execute(select(Account).where(Account.telegram_user_id == uid, Account.active.is_(True))
                                ).scalar_one_or_none()
        aliases = frozenset({f"desk:{account.username}"}) if account else frozenset()
        name = account.display_name if account else display_name(user)
        return Actor(f"tg:{uid}", name, aliases)

    def _first_time(self, update_id: int | None) -> bool:
        if update_id is None:
            return True
        def run() -> bool:
            with self.Session.begin() as s:
                if s.get(SeenUpdate, update_id) is not None:
                    return False
                s.add(SeenUpdate(update_id=update_id, at=self.clock.now()))
                return True
        return with_retry(run)

    async def process_update(self, data: dict[str, Any]) -> None:
        """Handle one update (from the webhook or getUpdates); each update id is handled once."""
        if not await asyncio.to_thread(self._first_time, data.get("update_id")):
            return
        if "callback_query" in data:
            await self._on_button(data["callback_query"])
        elif "message" in data:
            await self._on_message(data["message"])

    async def _answer(self, query_id: str, text: str, alert: bool = False) -> None:
        try:
            await self.ensure_initialized()
            await self.bot.answer_callback_query(query_id, text=text[:200], show_alert=alert)
        except TelegramError:
            log.warning("could not answer a callback query")

    async def _on_button(self, query: dict[str, Any]) -> None:
        user = query.get("from") or {}
        chat = str(((query.get("message") or {}).get("chat") or {}).get("id"))
        if chat not in self._allowed_chats() or not user.get("id") or not await self.is_member(int(user["id"])):
            log.info("refused a button press from outside the counselors' group")
            await self._answer(query["id"], "Chỉ thành viên nhóm tư vấn mới thao tác được trên ca này.", alert=True)
            return
        match = _DATA_RE.match(query.get("data") or "")
        if not match:
            await self._answer(query["id"], "Nút này không còn dùng được.")
            return
        action, case_id = match.group(1), int(match.group(2))
        actor = await asyncio.to_thread(self._actor, user)
        fn = self.service.claim if action == "claim" else self.service.resolve
        outcome = await asyncio.to_thread(fn, case_id, actor, "Telegram")
        await self._answer(query["id"], outcome.message, alert=not outcome.ok)
        self.on_change()

    async def _on_message(self, msg: dict[str, Any]) -> None:
        chat = str((msg.get("chat") or {}).get("id"))
        replied = msg.get("reply_to_message") or {}
        user = msg.get("from") or {}
        text = msg.get("text")
        if chat not in self._allowed_chats() or not replied or not text or user.get("is_bot"):
            return
        with self.Session() as s:
            case_id = s.execute(select(TelegramMessage.case_id).where(
                TelegramMessage.chat_id == chat, TelegramMessage.message_id == int(replied.get("message_id", 0)))
            ).scalar()
        if case_id is None:
            return
        if not await self.is_member(int(user.get("id", 0))):
            log.info("ignored a reply from outside the counselors' group")
            return
        actor = await asyncio.to_thread(self._actor, user)
        outcome = await asyncio.to_thread(self.service.reply, case_id, actor, text, "Telegram")
        if outcome.ok and outcome.event_id is not None:
            await asyncio.to_thread(self.service.ack_telegram_reply, case_id, outcome.event_id, chat,
                                    int(msg["message_id"]))
        else:
            try:
                await self.bot.send_message(chat_id=chat, text=outcome.message,
                                            reply_parameters=ReplyParameters(message_id=int(msg["message_id"]),
                                                                             allow_sending_without_reply=True))
            except TelegramError:
                log.warning("could not tell a counselor why a reply was refused")
        self.on_change()

    async def poll_forever(self) -> None:
        """Long polling: getUpdates in a loop, for desks without a public HTTPS URL."""
        offset: int | None = None
        failures = 0
        while True:
            try:
                await self.ensure_initialized()
                if offset is None:
                    await self.bot.delete_webhook()
                updates = await self.bot.get_updates(offset=offset or 0, timeout=int(self.settings.poll_timeout),
                                                     allowed_updates=ALLOWED_UPDATES)
                self.updates_state = "ok"
                failures = 0
            except TelegramError as exc:
                failures += 1
                self.updates_state = "failing"
                log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            if offset is None:
                offset = 0
            for update in updates:
                offset = max(offset, update.update_id + 1)
                try:
                    await self.process_update(update.to_dict())
                except Exception:  # one bad update must not stop polling
                    log.exception("could not handle a Telegram update")

    async def register_webhook_forever(self) -> None:
        """setWebhook with the secret token, retried until Telegram accepts it."""
        url = f"{self.settings.public_url}/telegram/webhook"
        failures = 0
        while True:
            try:
                await self.ensure_initialized()
                await self.bot.set_webhook(url=url, secret_token=self.settings.effective_webhook_secret,
                                           allowed_updates=ALLOWED_UPDATES)
                self.updates_state = "ok"
                log.info("Telegram webhook registered")
                return
            except TelegramError as exc:
                failures += 1
                self.updates_state = "failing"
                log.warning("setWebhook failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(min(60.0, 2 ** min(failures, 6)))

    def prune_seen_updates(self) -> None:
        """Forget handled update ids older than two days."""
        with self.Session.begin() as s:
            s.execute(delete(SeenUpdate).where(SeenUpdate.at < self.clock.now() - timedelta(days=2)))
