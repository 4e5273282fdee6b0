"""Receiving from the counselors' group: button presses and replies, by webhook or long polling.

Each update id acts at most once (redeliveries, polling after a restart): it is marked handled in the
same transaction as the change it causes, or after it was handled when it changes nothing, never
before, so an update whose handling failed acts when it is retried or delivered again. Only members of
the group (or the supervisor's chat) act on cases, and only from those chats; membership is cached for
10 seconds and forgotten at once when Telegram reports that someone left or joined.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import TelegramError

from bot.cases.outcomes import OUTCOMES, outcome_label
from bot.db.engine import session_factory
from bot.desk.commands import Actor, AlreadyHandled, CaseCommands
from bot.desk.models import Account, SeenUpdate, TelegramMessage
from bot.desk.settings import DeskSettings
from bot.desk.writes import with_retry
from bot.timeutil import Clock

log = logging.getLogger(__name__)
MEMBER_OK = frozenset({"creator", "administrator", "member"})
# chat_member updates reach a bot that is an administrator of the group; left_chat_member comes as a message.
ALLOWED_UPDATES = ["message", "callback_query", "chat_member"]
MEMBER_TTL = 10.0  # seconds a membership answer is trusted
HANDLE_ATTEMPTS = 3
POLL_ROUNDS = 5  # rounds of getUpdates an update that keeps failing is asked for again
_DATA_RE = re.compile(r"^(claim|resolve):(\d{1,12})$")
# The answer to «Đã xử lý»: one button per outcome; pressing one closes the case with that outcome.
_OUTCOME_RE = re.compile(r"^outcome:(\d{1,12}):([a-z_]{1,30})$")
# "/dong <case> <reason>": close a case with a reason (what an unclaimed danger-now case needs).
_CLOSE_RE = re.compile(r"^/dong(?:@\w+)?(?:\s+#?(\d{1,12}))?(?:\s+(.*))?$", re.S | re.I)
CLOSE_USAGE = "Cú pháp: /dong <số ca> <lý do>, ví dụ: /dong 123 Trùng với ca 120, đã gọi lại."


def display_name(user: dict[str, Any]) -> str:
    """A Telegram user's name, for the case history."""
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p).strip()
    if user.get("username"):
        name = f"{name} (@{user['username']})" if name else f"@{user['username']}"
    return name[:120] or f"Telegram {user.get('id')}"


class TelegramUpdates:
    """Handles updates from the group; `updates_state` is "failing" while Telegram cannot be reached."""

    def __init__(self, bot: Bot, engine: Engine, settings: DeskSettings, commands: CaseCommands,
                 clock: Clock, monotonic: Callable[[], float] = time.monotonic) -> None:
        """The bot, engine and commands are passed in; `monotonic` times the membership cache."""
        self.bot = bot
        self.Session = session_factory(engine)
        self.settings = settings
        self.commands = commands
        self.clock = clock
        self.monotonic = monotonic
        self._members: dict[tuple[str, int], tuple[bool, float]] = {}
        self.updates_state = "ok"

    async def shutdown(self) -> None:
        """Close the bot's HTTP clients."""
        try:
            await self.bot.shutdown()
        except Exception:  # shutting down anyway
            log.debug("bot shutdown failed", exc_info=True)

    # ---- who may act ---------------------------------------------------------------------------
    def _allowed_chats(self) -> set[str]:
        return {str(c) for c in (self.settings.counselor_chat_id, self.settings.supervisor_chat_id) if c}

    async def is_member(self, user_id: int) -> bool:
        """True when the user belongs to the counselors' group (or the supervisor's chat); cached 10 seconds."""
        now = self.monotonic()
        for chat in self._allowed_chats():
            cached = self._members.get((chat, user_id))
            if cached and cached[1] > now:
                if cached[0]:
                    return True
                continue
            try:
                await self.bot.initialize()
                member = await self.bot.get_chat_member(chat_id=chat, user_id=user_id)
            except TelegramError:
                log.warning("could not check group membership")
                continue
            ok = member.status in MEMBER_OK or (member.status == "restricted" and bool(
                getattr(member, "is_member", False)))
            self._members[(chat, user_id)] = (ok, now + MEMBER_TTL)
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

    def forget_members(self, data: dict[str, Any]) -> None:
        """Drop the cached membership of whoever an update says left, joined or changed status."""
        msg = data.get("message") or {}
        users = [msg.get("left_chat_member") or {}, *(msg.get("new_chat_members") or [])]
        users.append(((data.get("chat_member") or {}).get("new_chat_member") or {}).get("user") or {})
        for user in users:
            if isinstance(user, dict) and isinstance(user.get("id"), int):
                for key in [k for k in self._members if k[1] == user["id"]]:
                    self._members.pop(key, None)

    # ---- handling --------------------------------------------------------------------------------
    def _seen(self, update_id: int) -> bool:
        with self.Session() as s:
            return s.get(SeenUpdate, update_id) is not None

    def _mark_seen(self, update_id: int) -> None:
        def run() -> None:
            with self.Session.begin() as s:
                if s.get(SeenUpdate, update_id) is None:
                    s.add(SeenUpdate(update_id=update_id, at=self.clock.now()))
        try:
            with_retry(run)
        except IntegrityError:  # marked by a concurrent delivery of the same update
            pass

    async def process_update(self, data: dict[str, Any]) -> None:
        """Handle one update (from the webhook or getUpdates); it acts at most once, and a failure is retried.

        Raises the last error when every attempt failed: the update is then not marked, and acts when
        it is delivered again.
        """
        update_id = data.get("update_id") if isinstance(data.get("update_id"), int) else None
        if update_id is not None and await asyncio.to_thread(self._seen, update_id):
            return
        self.forget_members(data)
        for attempt in range(1, HANDLE_ATTEMPTS + 1):
            try:
                await self._handle(data, update_id)
                break
            except AlreadyHandled:
                return
            except Exception:
                if attempt == HANDLE_ATTEMPTS:
                    raise
                log.warning("handling a Telegram update failed (attempt %d); retrying", attempt)
                await asyncio.sleep(0.2 * attempt)
        if update_id is not None:
            await asyncio.to_thread(self._mark_seen, update_id)

    async def _handle(self, data: dict[str, Any], update_id: int | None) -> None:
        if "callback_query" in data:
            await self._on_button(data["callback_query"], update_id)
        elif "message" in data:
            await self._on_message(data["message"], update_id)

    async def _answer(self, query_id: str, text: str, alert: bool = False) -> None:
        try:
            await self.bot.initialize()
            await self.bot.answer_callback_query(query_id, text=text[:200], show_alert=alert)
        except TelegramError:
            log.warning("could not answer a callback query")

    async def _on_button(self, query: dict[str, Any], update_id: int | None) -> None:
        user = query.get("from") or {}
        chat = str(((query.get("message") or {}).get("chat") or {}).get("id"))
        if chat not in self._allowed_chats() or not user.get("id") or not await self.is_member(int(user["id"])):
            log.info("refused a button press from outside the counselors' group")
            await self._answer(query["id"], "Chỉ thành viên nhóm tư vấn mới thao tác được trên ca này.", alert=True)
            return
        chosen = _OUTCOME_RE.match(query.get("data") or "")
        if chosen:
            await self._on_outcome(query, user, int(chosen.group(1)), chosen.group(2), update_id)
            return
        match = _DATA_RE.match(query.get("data") or "")
        if not match:
            await self._answer(query["id"], "Nút này không còn dùng được.")
            return
        action, case_id = match.group(1), int(match.group(2))
        actor = await asyncio.to_thread(self._actor, user)
        if action == "claim":
            outcome = await asyncio.to_thread(self.commands.claim, case_id, actor, "Telegram", update_id=update_id)
            await self._answer(query["id"], outcome.message, alert=not outcome.ok)
            return
        refused = await asyncio.to_thread(self.commands.resolve_refusal, case_id, actor)
        if refused:
            await self._answer(query["id"], refused, alert=True)
            return
        await self._ask_outcome(query, chat, case_id)

    async def _ask_outcome(self, query: dict[str, Any], chat: str, case_id: int) -> None:
        """Answer «Đã xử lý» with the outcome buttons, as a reply to the card (nothing changes yet)."""
        rows = [[InlineKeyboardButton(label, callback_data=f"outcome:{case_id}:{code}")]
                for code, label in OUTCOMES.items()]
        card = (query.get("message") or {}).get("message_id")
        try:
            await self.bot.initialize()
            await self.bot.send_message(
                chat_id=chat, text=f"Ca #{case_id}: chọn kết quả xử lý để đóng ca.",
                reply_markup=InlineKeyboardMarkup(rows),
                reply_parameters=ReplyParameters(message_id=int(card), allow_sending_without_reply=True)
                if card else None)
        except TelegramError:
            log.warning("could not offer the outcomes in the group")
            await self._answer(query["id"], "Không gửi được danh sách kết quả; hãy đóng ca trên bảng điều khiển.",
                               alert=True)
            return
        await self._answer(query["id"], f"Chọn kết quả xử lý cho ca #{case_id} trong tin nhắn bên dưới.")

    async def _on_outcome(self, query: dict[str, Any], user: dict[str, Any], case_id: int, code: str,
                          update_id: int | None) -> None:
        """An outcome button: close the case with it, then take the buttons off the question."""
        actor = await asyncio.to_thread(self._actor, user)
        outcome = await asyncio.to_thread(self.commands.resolve, case_id, actor, "Telegram", update_id=update_id,
                                          outcome=code)
        await self._answer(query["id"], outcome.message, alert=not outcome.ok)
        msg = query.get("message") or {}
        if outcome.ok and msg.get("message_id"):
            try:
                await self.bot.edit_message_text(
                    chat_id=str((msg.get("chat") or {}).get("id")), message_id=int(msg["message_id"]),
                    text=f"✅ Ca #{case_id} đã đóng. Kết quả: {outcome_label(code)}.")
            except TelegramError:
                log.warning("could not update the outcome question")

    def _case_of_message(self, chat: str, message_id: int) -> int | None:
        with self.Session() as s:
            return s.execute(select(TelegramMessage.case_id).where(
                TelegramMessage.chat_id == chat, TelegramMessage.message_id == message_id)).scalar()

    async def _on_message(self, msg: dict[str, Any], update_id: int | None) -> None:
        chat = str((msg.get("chat") or {}).get("id"))
        replied = msg.get("reply_to_message") or {}
        user = msg.get("from") or {}
        text = msg.get("text")
        if chat not in self._allowed_chats() or not text or user.get("is_bot"):
            return
        close = _CLOSE_RE.match(text.strip())
        if close:
            await self._close_command(chat, msg, user, close, update_id)
            return
        if not replied:
            return
        case_id = await asyncio.to_thread(self._case_of_message, chat, int(replied.get("message_id", 0)))
        if case_id is None:
            return
        if not await self.is_member(int(user.get("id", 0))):
            log.info("ignored a reply from outside the counselors' group")
            return
        actor = await asyncio.to_thread(self._actor, user)
        outcome = await asyncio.to_thread(self.commands.reply, case_id, actor, text, "Telegram",
                                          update_id=update_id)
        if outcome.ok and outcome.event_id is not None:
            await asyncio.to_thread(self.commands.ack_telegram_reply, case_id, outcome.event_id, chat,
                                    int(msg["message_id"]))
            return
        await self._say(chat, msg, outcome.message)

    async def _close_command(self, chat: str, msg: dict[str, Any], user: dict[str, Any], close: re.Match[str],
                             update_id: int | None) -> None:
        if not await self.is_member(int(user.get("id", 0))):
            log.info("ignored a command from outside the counselors' group")
            return
        if close.group(1) is None or not (close.group(2) or "").strip():
            await self._say(chat, msg, CLOSE_USAGE)
            return
        actor = await asyncio.to_thread(self._actor, user)
        outcome = await asyncio.to_thread(self.commands.resolve, int(close.group(1)), actor, "Telegram",
                                          close.group(2), update_id=update_id)
        await self._say(chat, msg, outcome.message)

    async def _say(self, chat: str, msg: dict[str, Any], text: str) -> None:
        """Answer a counselor's message in the group, as a reply to it."""
        try:
            await self.bot.send_message(chat_id=chat, text=text,
                                        reply_parameters=ReplyParameters(message_id=int(msg["message_id"]),
                                                                         allow_sending_without_reply=True))
        except TelegramError:
            log.warning("could not answer a counselor in the group")

    # ---- transports ----------------------------------------------------------------------------
    async def poll_forever(self) -> None:
        """Long polling: getUpdates in a loop, for desks without a public HTTPS URL."""
        offset: int | None = None
        failures = 0
        failed: dict[int, int] = {}  # update id -> rounds of getUpdates in which its handling failed
        while True:
            try:
                await self.bot.initialize()
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
                try:
                    await self.process_update(update.to_dict())
                    failed.pop(update.update_id, None)
                except Exception:  # one bad update must not stop polling for long
                    failed[update.update_id] = failed.get(update.update_id, 0) + 1
                    if failed[update.update_id] < POLL_ROUNDS:
                        log.warning("could not handle a Telegram update; asking for it again")
                        await asyncio.sleep(1.0)
                        break  # the offset stays: getUpdates returns this update again
                    failed.pop(update.update_id, None)
                    log.exception("gave up on a Telegram update")
                offset = max(offset, update.update_id + 1)

    async def register_webhook_forever(self) -> None:
        """setWebhook with the secret token, retried until Telegram accepts it."""
        url = f"{self.settings.public_url}/telegram/webhook"
        failures = 0
        while True:
            try:
                await self.bot.initialize()
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
