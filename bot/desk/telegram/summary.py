"""The queue's summary pinned in the counselors' Telegram group: how many cases wait, how many are overdue.

One message, posted and pinned once (its id is kept in `desk_tg_summary`, so a restart edits it rather than
posting another), then edited when the counts change, at most once every `SUMMARY_EVERY`; a desk that just
started waits `SUMMARY_EVERY` before its first change too, so a restart loop cannot flood the group. Like every Telegram
write it goes through the outbox: `SummaryWatcher.check` queues a `tg_summary` row, keyed `summary:<n>` from the
previous row, so running it twice (or two at once) queues one row; `SummarySender.send` delivers it. The text
holds counts and a link only, never a resident's words.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from telegram import Bot
from telegram.constants import ParseMode

from bot.clients.telegram import call
from bot.db.engine import session_factory
from bot.desk.deadlines import waiting_and_overdue
from bot.desk.models import PinnedSummary
from bot.desk.settings import DeskSettings
from bot.desk.writes import with_retry
from bot.outbox.dispatcher import Delivery
from bot.outbox.enqueue import enqueue
from bot.outbox.errors import GiveUp, Skip
from bot.outbox.models import PENDING, OutboxItem
from bot.timeutil import Clock, aware, vn_time

KIND = "tg_summary"
LANE = "tgsum:counselor"  # its own lane family: the summary never waits behind (or holds up) a card
SUMMARY_EVERY = timedelta(seconds=30)


def summary_text(waiting: int, overdue: int, at: datetime, queue_url: str) -> str:
    """The pinned message (HTML parse mode): counts and a link, nothing about any resident."""
    if waiting:
        lines = [f"Đang chờ người nhận: <b>{waiting}</b> ca",
                 f"Quá hạn chưa ai nhận: <b>{overdue}</b> ca" if overdue else "Không có ca nào quá hạn."]
    else:
        lines = ["Không có ca nào đang chờ người nhận."]
    return "\n".join(["📌 <b>Hàng đợi tư vấn</b>", *lines, f"Cập nhật lúc {vn_time(at)}",
                      f"Mở hàng đợi: {queue_url}"])


class SummaryWatcher:
    """Queues an edit of the pinned summary when the counts changed and the last one is old enough."""

    def __init__(self, engine: Engine, clock: Clock, settings: DeskSettings,
                 on_enqueue: Callable[[], None] = lambda: None, every: timedelta = SUMMARY_EVERY) -> None:
        """`on_enqueue` wakes the dispatcher; `every` is the shortest time between two edits."""
        self.Session = session_factory(engine)
        self.clock = clock
        self.settings = settings
        self.on_enqueue = on_enqueue
        self.every = every
        self.started = clock.now()

    def check(self) -> bool:
        """Queue the summary if it changed (True when a row was queued); safe to run any number of times."""
        if not self.settings.telegram_enabled:
            return False
        try:
            queued = with_retry(self._check)
        except IntegrityError:  # another pass queued the same row at this moment
            return False
        if queued:
            self.on_enqueue()
        return queued

    def _check(self) -> bool:
        now = self.clock.now()
        if now < self.started + self.every:
            return False
        with self.Session.begin() as s:
            waiting, overdue = waiting_and_overdue(s, now, self.settings)
            last = s.execute(select(OutboxItem.payload, OutboxItem.created_at).where(OutboxItem.kind == KIND)
                             .order_by(OutboxItem.id.desc()).limit(1)).first()
            seq = 1
            if last is not None:
                shown = json.loads(last.payload or "{}")
                if (shown.get("waiting"), shown.get("overdue")) == (waiting, overdue):
                    return False
                if aware(last.created_at) > now - self.every:
                    return False  # debounced: the next pass after `every` says it
                seq = int(shown.get("seq") or 0) + 1
            return enqueue(s, key=f"summary:{seq}", kind=KIND, lane=LANE, now=now,
                           payload={"seq": seq, "waiting": waiting, "overdue": overdue, "at": now.isoformat()})


class SummarySender:
    """Delivers `tg_summary` rows: edit the pinned message, or post and pin it the first time."""

    def __init__(self, bot: Bot, engine: Engine, settings: DeskSettings, clock: Clock) -> None:
        """Nothing is sent before the dispatcher calls `send`."""
        self.bot = bot
        self.Session = session_factory(engine)
        self.settings = settings
        self.clock = clock

    def handlers(self) -> dict[str, Callable[[Delivery], Awaitable[None]]]:
        """The outbox handler of the summary rows."""
        return {KIND: self.send}

    async def _call(self, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        await call(self.bot.initialize, refusals_final=False)
        return await call(method, refusals_final=False, **kwargs)

    def _newer_pending(self, row_id: int) -> bool:
        with self.Session() as s:
            return s.execute(select(OutboxItem.id).where(OutboxItem.kind == KIND, OutboxItem.status == PENDING,
                                                         OutboxItem.id > row_id).limit(1)).first() is not None

    def _pinned(self, chat_id: str) -> PinnedSummary | None:
        with self.Session() as s:
            return s.get(PinnedSummary, chat_id)

    def _save(self, chat_id: str, message_id: int | None, pinned: bool) -> None:
        with self.Session.begin() as s:
            row = s.get(PinnedSummary, chat_id)
            if message_id is None:
                if row is not None:
                    s.delete(row)
                return
            if row is None:
                row = PinnedSummary(chat_id=chat_id, message_id=message_id)
                s.add(row)
            row.message_id, row.pinned, row.updated_at = message_id, pinned, self.clock.now()

    async def send(self, item: Delivery) -> None:
        """Edit the summary; post it (and pin it, silently) when there is none, or it was deleted."""
        if await asyncio.to_thread(self._newer_pending, item.id):
            raise Skip("a newer summary follows")
        p = item.payload
        chat_id = str(self.settings.counselor_chat_id)
        text = summary_text(int(p["waiting"]), int(p["overdue"]), datetime.fromisoformat(p["at"]),
                            f"{self.settings.public_url.rstrip('/')}/cases")
        known = await asyncio.to_thread(self._pinned, chat_id)
        if known is not None:
            try:
                await self._call(self.bot.edit_message_text, chat_id=chat_id, message_id=int(known.message_id),
                                 text=text, parse_mode=ParseMode.HTML, disable_web_page_preview=True)
            except GiveUp:  # someone deleted it in the group: post a new one
                await asyncio.to_thread(self._save, chat_id, None, False)
                known = None
        if known is None:
            msg = await self._call(self.bot.send_message, chat_id=chat_id, text=text, parse_mode=ParseMode.HTML,
                                   disable_notification=True, disable_web_page_preview=True)
            # Kept before pinning, so a pin that fails is retried on this message, never on a second one.
            await asyncio.to_thread(self._save, chat_id, msg.message_id, False)
            known = await asyncio.to_thread(self._pinned, chat_id)
        assert known is not None
        if not known.pinned:
            await self._call(self.bot.pin_chat_message, chat_id=chat_id, message_id=int(known.message_id),
                             disable_notification=True)
            await asyncio.to_thread(self._save, chat_id, int(known.message_id), True)
