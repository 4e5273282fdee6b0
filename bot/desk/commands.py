"""What counselors do to cases: claim, resolve, reply, note, and the acknowledgement of a Telegram reply.

Every change is a case event, and every delivery it causes (card refresh, Rasa pause/resume, message
to the resident) is an outbox row written in the same transaction. Exactly one of several
simultaneous claims wins; only the counselor who claimed a case speaks to the resident.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.cases.models import CLAIMED, OPEN, RESOLVED, Case, CaseEvent
from bot.db.engine import session_factory
from bot.desk import cards
from bot.desk.settings import DeskSettings
from bot.desk.writes import queue_rasa, queue_resident, queue_telegram, with_retry
from bot.timeutil import Clock, vn_time

log = logging.getLogger(__name__)
MAX_REPLY = 2000
MAX_NOTE = 4000
CONSOLE = "bảng điều khiển"


@dataclass(frozen=True)
class Actor:
    """Who acts: `key` is `tg:<user id>` or `desk:<username>`; `aliases` are the same person's other keys."""

    key: str
    name: str
    aliases: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        """Stored form: `Name <key>`."""
        return f"{self.name} <{self.key}>"

    def owns(self, label: str | None) -> bool:
        """True when a stored actor label is this person."""
        if not label or not label.endswith(">") or " <" not in label:
            return False
        key = label.rsplit(" <", 1)[1][:-1]
        return key == self.key or key in self.aliases


DESK = Actor("desk", "Hệ thống")


@dataclass
class Outcome:
    """Result of an action, with a Vietnamese message for the person who acted."""

    ok: bool
    message: str
    case: Case | None = None
    event_id: int | None = None


def fresh_case(s: Session, case_id: int) -> Case | None:
    """The case row as the database has it now (not the session's cached copy)."""
    return s.execute(select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
                     ).scalar_one_or_none()


class CaseCommands:
    """Counselor actions with their events and outbox rows; engine, clock and hotlines are passed in."""

    def __init__(self, engine: Engine, clock: Clock, settings: DeskSettings, hotlines: Callable[[], str],
                 on_enqueue: Callable[[], None] = lambda: None) -> None:
        """`hotlines` gives the current emergency numbers; `on_enqueue` wakes the dispatcher after a commit."""
        self.engine = engine
        self.Session = session_factory(engine)
        self.clock = clock
        self.settings = settings
        self.hotlines = hotlines
        self.on_enqueue = on_enqueue

    def _poke(self) -> None:
        try:
            self.on_enqueue()
        except Exception:  # waking is an optimisation only
            log.debug("could not wake the dispatcher", exc_info=True)

    def _tg(self, s: Session, key: str, kind: str, case_id: int, payload: dict) -> None:
        queue_telegram(s, enabled=self.settings.telegram_enabled, key=key, kind=kind, case_id=case_id,
                       payload=payload, now=self.clock.now())

    def claim(self, case_id: int, actor: Actor, via: str) -> Outcome:
        """Take a case; exactly one of several simultaneous claims wins."""
        return with_retry(lambda: self._claim(case_id, actor, via))

    def _claim(self, case_id: int, actor: Actor, via: str) -> Outcome:
        now = self.clock.now()
        with self.Session.begin() as s:
            won = s.execute(update(Case).where(Case.id == case_id, Case.status == OPEN)
                            .values(status=CLAIMED, claimed_by=actor.label, claimed_at=now, updated_at=now)
                            .execution_options(synchronize_session=False)).rowcount == 1
            case = fresh_case(s, case_id)
            if case is None:
                return Outcome(False, "Không tìm thấy ca này.")
            if not won:
                if case.status == CLAIMED and actor.owns(case.claimed_by):
                    return Outcome(False, f"Bạn đã nhận ca #{case.id} rồi.", case)
                if case.status == CLAIMED:
                    return Outcome(False, f"Ca #{case.id} đã được {cards.actor_name(case.claimed_by)} nhận lúc "
                                          f"{vn_time(case.claimed_at, False)}. Cảm ơn bạn!", case)
                return Outcome(False, f"Ca #{case.id} đã được xử lý xong.", case)
            ev = CaseEvent(case_id=case.id, kind="claimed", actor=actor.label, detail=via, at=now)
            s.add(ev)
            s.flush()
            self._tg(s, f"refresh:{case.id}:{ev.id}", "tg_refresh", case.id, {})
            queue_rasa(s, case, f"pause:{ev.id}", [{"event": "pause", "timestamp": now.timestamp()}], now)
            queue_resident(s, case, f"claimed:{ev.id}", cards.resident_claimed_text(), "desk", by_human=False,
                           now=now)
            event_id = ev.id
        log.info("case %d claimed via %s", case_id, via)
        self._poke()
        return Outcome(True, f"Bạn đã nhận ca #{case_id}. Hãy liên hệ người dân ngay.", case, event_id)

    def resolve(self, case_id: int, actor: Actor, via: str) -> Outcome:
        """Close a case; a claimed conversation goes back to the bot, which tells the resident."""
        return with_retry(lambda: self._resolve(case_id, actor, via))

    def _resolve(self, case_id: int, actor: Actor, via: str) -> Outcome:
        now = self.clock.now()
        values = {"status": RESOLVED, "resolved_at": now, "updated_at": now}
        with self.Session.begin() as s:
            was_claimed = s.execute(update(Case).where(Case.id == case_id, Case.status == CLAIMED).values(**values)
                                    .execution_options(synchronize_session=False)).rowcount == 1
            was_open = not was_claimed and s.execute(
                update(Case).where(Case.id == case_id, Case.status == OPEN).values(**values)
                .execution_options(synchronize_session=False)).rowcount == 1
            case = fresh_case(s, case_id)
            if case is None:
                return Outcome(False, "Không tìm thấy ca này.")
            if not (was_claimed or was_open):
                return Outcome(False, f"Ca #{case.id} đã được xử lý xong trước đó.", case)
            ev = CaseEvent(case_id=case.id, kind="resolved", actor=actor.label, detail=via, at=now)
            s.add(ev)
            s.flush()
            self._tg(s, f"refresh:{case.id}:{ev.id}", "tg_refresh", case.id, {})
            queue_rasa(s, case, f"resume:{ev.id}", [{"event": "resume", "timestamp": now.timestamp()}], now)
            if was_claimed:
                # The numbers are read now: staff may have changed content/hotlines.yml since the desk started.
                text = cards.resident_resolved_text(self.hotlines())
                queue_resident(s, case, f"resolved:{ev.id}", text, "desk", by_human=False, now=now)
            event_id = ev.id
        log.info("case %d resolved via %s", case_id, via)
        self._poke()
        return Outcome(True, f"Đã đánh dấu ca #{case_id} là đã xử lý.", case, event_id)

    def reply(self, case_id: int, actor: Actor, text: str, via: str) -> Outcome:
        """Send a counselor's message to the resident (only by the counselor who claimed the case)."""
        text = (text or "").strip()
        if not text:
            return Outcome(False, "Tin nhắn trống.")
        if len(text) > MAX_REPLY:
            return Outcome(False, f"Tin nhắn dài quá {MAX_REPLY} ký tự, hãy chia nhỏ.")
        return with_retry(lambda: self._reply(case_id, actor, text))

    def _reply(self, case_id: int, actor: Actor, text: str) -> Outcome:
        now = self.clock.now()
        with self.Session.begin() as s:
            s.execute(update(Case).where(Case.id == case_id, Case.status == CLAIMED).values(updated_at=now)
                      .execution_options(synchronize_session=False))
            case = fresh_case(s, case_id)
            if case is None:
                return Outcome(False, "Không tìm thấy ca này.")
            if case.status == OPEN:
                return Outcome(False, "Hãy bấm «Nhận ca» trước khi nhắn cho người dân.", case)
            if case.status == RESOLVED:
                return Outcome(False, f"Ca #{case.id} đã đóng; trợ lý tự động đang trả lời người dân.", case)
            if not actor.owns(case.claimed_by):
                return Outcome(False, f"Ca #{case.id} do {cards.actor_name(case.claimed_by)} phụ trách; "
                                      "chỉ người nhận ca mới nhắn được cho người dân.", case)
            ev = CaseEvent(case_id=case.id, kind="counselor_reply", actor=actor.label, detail=text, at=now)
            s.add(ev)
            s.flush()
            queue_resident(s, case, f"reply:{ev.id}", text, "counselor", by_human=True, now=now)
            event_id = ev.id
        self._poke()
        return Outcome(True, "Đã gửi tin nhắn cho người dân.", case, event_id)

    def add_note(self, case_id: int, actor: Actor, text: str) -> Outcome:
        """Add an internal note to a case's history."""
        text = (text or "").strip()
        if not text:
            return Outcome(False, "Ghi chú trống.")
        if len(text) > MAX_NOTE:
            return Outcome(False, f"Ghi chú dài quá {MAX_NOTE} ký tự.")
        now = self.clock.now()

        def run() -> Outcome:
            with self.Session.begin() as s:
                s.execute(update(Case).where(Case.id == case_id).values(updated_at=now)
                          .execution_options(synchronize_session=False))
                case = fresh_case(s, case_id)
                if case is None:
                    return Outcome(False, "Không tìm thấy ca này.")
                ev = CaseEvent(case_id=case_id, kind="note", actor=actor.label, detail=text, at=now)
                s.add(ev)
                s.flush()
                return Outcome(True, "Đã lưu ghi chú.", case, ev.id)
        return with_retry(run)

    def ack_telegram_reply(self, case_id: int, event_id: int, chat_id: str, reply_to: int) -> None:
        """Confirm in the group that a reply typed in Telegram was queued for the resident."""
        def run() -> None:
            with self.Session.begin() as s:
                self._tg(s, f"ack:{event_id}", "tg_notice", case_id,
                         {"chat": chat_id, "reply_to": reply_to,
                          "text": f"✅ Đã chuyển tin nhắn tới người dân (ca #{case_id})."})
        with_retry(run)
        self._poke()
