"""What counselors do to cases (claim, resolve, reply, note) and what the desk does on its own
(announce new cases, re-escalate, flag stale claims). Every change is a case event, and every
delivery it causes is an outbox row written in the same transaction."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import exists, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.cases import CLAIMED, OPEN, RESOLVED, Case, CaseEvent
from bot.db import session_factory
from bot.desk import cards
from bot.desk.clock import Clock, aware
from bot.desk.models import OutboxItem, TrackerMark
from bot.desk.outbox import enqueue
from bot.desk.rasa import TranscriptReader, bot_event
from bot.desk.settings import DeskSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
PUSH_CHANNELS = frozenset({"zalo", "messenger", "telegram"})
MAX_REPLY = 2000
MAX_NOTE = 4000
_LEVEL_RE = re.compile(r"^Lần (\d+)")


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


def label_key(label: str | None) -> str | None:
    """The key part of a stored actor label."""
    if label and label.endswith(">") and " <" in label:
        return label.rsplit(" <", 1)[1][:-1]
    return None


def with_retry(fn: Callable[[], T], attempts: int = 6) -> T:
    """Run a database transaction, retrying when SQLite reports it is busy."""
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if attempt == attempts - 1 or not any(w in str(exc).lower() for w in ("locked", "busy")):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


class DeskService:
    """Case actions with their events and outbox rows; the engine and clock are passed in."""

    def __init__(self, engine: Engine, clock: Clock, settings: DeskSettings,
                 on_enqueue: Callable[[], None] | None = None) -> None:
        """`on_enqueue` wakes the dispatcher after a commit that added outbox rows."""
        self.engine = engine
        self.Session = session_factory(engine)
        self.clock = clock
        self.settings = settings
        self.on_enqueue = on_enqueue or (lambda: None)
        self._event_mark: int | None = None

    # ---- helpers ---------------------------------------------------------------------------------
    def _poke(self) -> None:
        try:
            self.on_enqueue()
        except Exception:  # waking is an optimisation only
            log.debug("could not wake the dispatcher", exc_info=True)

    def _tg(self, s: Session, key: str, kind: str, case_id: int, payload: dict[str, Any]) -> None:
        """Queue a Telegram row; the supervisor's chat has its own lane so it can never hold up the group."""
        if self.settings.telegram_enabled:
            supervisor = kind == "tg_supervisor_card" or payload.get("chat") == "supervisor"
            enqueue(s, key=key, kind=kind, lane=f"{'tgs' if supervisor else 'tg'}:{case_id}", case_id=case_id,
                    payload=payload, now=self.clock.now())

    def _resident(self, s: Session, case: Case, key: str, text: str, source: str, by_human: bool) -> None:
        """Queue a message to the resident: pushed on their channel, and added to the Rasa transcript."""
        now = self.clock.now()
        lane = f"res:{case.sender_id}"
        if case.channel in PUSH_CHANNELS:
            enqueue(s, key=f"{key}:push", kind="resident_push", lane=lane, case_id=case.id, now=now,
                    payload={"sender_id": case.sender_id, "text": text, "by_human": by_human})
        enqueue(s, key=f"{key}:rasa", kind="rasa_events", lane=lane, case_id=case.id, now=now,
                payload={"sender_id": case.sender_id,
                         "events": [bot_event(text, case.id, source, now, f"{key}:rasa")]})

    def _rasa(self, s: Session, case: Case, key: str, events: list[dict[str, Any]]) -> None:
        enqueue(s, key=key, kind="rasa_events", lane=f"res:{case.sender_id}", case_id=case.id,
                now=self.clock.now(), payload={"sender_id": case.sender_id, "events": events})

    @staticmethod
    def _fresh(s: Session, case_id: int) -> Case | None:
        return s.execute(select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
                         ).scalar_one_or_none()

    # ---- counselor actions -------------------------------------------------------------------------
    def claim(self, case_id: int, actor: Actor, via: str) -> Outcome:
        """Take a case; exactly one of several simultaneous claims wins."""
        return with_retry(lambda: self._claim(case_id, actor, via))

    def _claim(self, case_id: int, actor: Actor, via: str) -> Outcome:
        now = self.clock.now()
        with self.Session.begin() as s:
            won = s.execute(update(Case).where(Case.id == case_id, Case.status == OPEN)
                            .values(status=CLAIMED, claimed_by=actor.label, claimed_at=now, updated_at=now)
                            .execution_options(synchronize_session=False)).rowcount == 1
            case = self._fresh(s, case_id)
            if case is None:
                return Outcome(False, "Không tìm thấy ca này.")
            if not won:
                if case.status == CLAIMED and actor.owns(case.claimed_by):
                    return Outcome(False, f"Bạn đã nhận ca #{case.id} rồi.", case)
                if case.status == CLAIMED:
                    return Outcome(False, f"Ca #{case.id} đã được {cards.actor_name(case.claimed_by)} nhận lúc "
                                          f"{cards.vn_time(case.claimed_at, False)}. Cảm ơn bạn!", case)
                return Outcome(False, f"Ca #{case.id} đã được xử lý xong.", case)
            ev = CaseEvent(case_id=case.id, kind="claimed", actor=actor.label, detail=via, at=now)
            s.add(ev)
            s.flush()
            self._tg(s, f"refresh:{case.id}:{ev.id}", "tg_refresh", case.id, {})
            self._rasa(s, case, f"pause:{ev.id}", [{"event": "pause", "timestamp": now.timestamp()}])
            self._resident(s, case, f"claimed:{ev.id}", cards.resident_claimed_text(), "desk", by_human=False)
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
            case = self._fresh(s, case_id)
            if case is None:
                return Outcome(False, "Không tìm thấy ca này.")
            if not (was_claimed or was_open):
                return Outcome(False, f"Ca #{case.id} đã được xử lý xong trước đó.", case)
            ev = CaseEvent(case_id=case.id, kind="resolved", actor=actor.label, detail=via, at=now)
            s.add(ev)
            s.flush()
            self._tg(s, f"refresh:{case.id}:{ev.id}", "tg_refresh", case.id, {})
            self._rasa(s, case, f"resume:{ev.id}", [{"event": "resume", "timestamp": now.timestamp()}])
            if was_claimed:
                self._resident(s, case, f"resolved:{ev.id}", cards.resident_resolved_text(self.settings.hotline_text),
                               "desk", by_human=False)
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
        return with_retry(lambda: self._reply(case_id, actor, text, via))

    def _reply(self, case_id: int, actor: Actor, text: str, via: str) -> Outcome:
        now = self.clock.now()
        with self.Session.begin() as s:
            s.execute(update(Case).where(Case.id == case_id, Case.status == CLAIMED).values(updated_at=now)
                      .execution_options(synchronize_session=False))
            case = self._fresh(s, case_id)
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
            self._resident(s, case, f"reply:{ev.id}", text, "counselor", by_human=True)
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
                case = self._fresh(s, case_id)
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

    # ---- what the desk does by itself -----------------------------------------------------------
    def announce_new_cases(self, limit: int = 200) -> int:
        """Queue a card for every unresolved case that has none yet (cases are written by the action server)."""
        if not self.settings.telegram_enabled:
            return 0

        def run() -> int:
            with self.Session.begin() as s:
                has_card = exists().where(OutboxItem.case_id == Case.id, OutboxItem.kind == "tg_card")
                ids = list(s.execute(select(Case.id).where(Case.status != RESOLVED, ~has_card)
                                     .order_by(Case.id).limit(limit)).scalars())
                for case_id in ids:
                    self._tg(s, f"card:{case_id}", "tg_card", case_id, {})
                return len(ids)
        count = with_retry(run)
        if count:
            self._poke()
        return count

    def forward_events(self) -> int:
        """Queue Telegram messages for new resident messages and urgency changes (backstop of handoff)."""
        def run() -> int:
            with self.Session.begin() as s:
                if self._event_mark is None:
                    since = self.clock.now() - timedelta(hours=1)
                    self._event_mark = s.execute(select(func.max(CaseEvent.id)).where(CaseEvent.at < since)
                                                 ).scalar() or 0
                rows = list(s.execute(select(CaseEvent).where(
                    CaseEvent.id > self._event_mark,
                    CaseEvent.kind.in_(("resident_message", "urgency_raised"))).order_by(CaseEvent.id).limit(500)
                ).scalars())
                for ev in rows:
                    queue_forward(s, ev, self.clock.now(), self.settings.telegram_enabled)
                if rows:
                    self._event_mark = rows[-1].id
                return len(rows)
        count = with_retry(run)
        if count:
            self._poke()
        return count

    def reescalate_due(self) -> int:
        """Announce again (with the supervisor) every open case past its urgency's deadline."""
        now = self.clock.now()
        shortest = min(self.settings.deadlines.values())
        done = 0
        with self.Session() as s:
            candidates = list(s.execute(select(Case).where(Case.status == OPEN, Case.created_at <= now - shortest)
                                        ).scalars())
        for case in candidates:
            deadline = self.settings.deadlines.get(case.urgency) or max(self.settings.deadlines.values())
            waited = now - aware(case.created_at)
            level = min(int(waited / deadline), self.settings.max_reescalations)
            if level >= 1 and with_retry(lambda c=case, lv=level, w=waited: self._reescalate(c.id, lv, w)):
                done += 1
        if done:
            self._poke()
        return done

    def _reescalate(self, case_id: int, level: int, waited: timedelta) -> bool:
        now = self.clock.now()
        with self.Session.begin() as s:
            # A no-op write first, so this transaction holds the write lock before it reads (SQLite).
            s.execute(update(Case).where(Case.id == case_id).values(updated_at=Case.updated_at)
                      .execution_options(synchronize_session=False))
            case = self._fresh(s, case_id)
            if case is None or case.status != OPEN:
                return False
            details = s.execute(select(CaseEvent.detail).where(CaseEvent.case_id == case_id,
                                                               CaseEvent.kind == "reescalated")).scalars()
            reached = max((int(m.group(1)) for d in details if (m := _LEVEL_RE.match(d or ""))), default=0)
            if level <= reached:
                return False
            minutes = int(waited.total_seconds() // 60)
            ev = CaseEvent(case_id=case_id, kind="reescalated", actor=DESK.label, at=now,
                           detail=f"Lần {level}: chưa ai nhận sau {minutes} phút; đã báo giám sát")
            s.add(ev)
            s.flush()
            url = self.settings.case_url(case_id)
            text = cards.reescalation_text(case, level, waited, self.settings.supervisor_mention, url)
            self._tg(s, f"reesc:{case_id}:{level}", "tg_notice", case_id,
                     {"chat": "counselor", "reply_to_card": True, "text": text})
            if self.settings.supervisor_chat_id:
                self._tg(s, f"reesc-sup:{case_id}:{level}", "tg_notice", case_id,
                         {"chat": "supervisor", "text": text})
                self._tg(s, f"supcard:{case_id}", "tg_supervisor_card", case_id, {})
            self._tg(s, f"refresh:{case_id}:{ev.id}", "tg_refresh", case_id, {})
        log.warning("case %d re-escalated (level %d)", case_id, level)
        return True

    def flag_stale(self) -> int:
        """Flag claimed cases not resolved within the configured time (default a day)."""
        now = self.clock.now()
        limit = now - self.settings.claimed_stale_after
        with self.Session() as s:
            flagged = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == "flagged_stale")
            ids = list(s.execute(select(Case.id).where(Case.status == CLAIMED, Case.claimed_at <= limit, ~flagged)
                                 ).scalars())
        count = sum(1 for case_id in ids if with_retry(lambda c=case_id: self._flag(c)))
        if count:
            self._poke()
        return count

    def _flag(self, case_id: int) -> bool:
        now = self.clock.now()
        with self.Session.begin() as s:
            s.execute(update(Case).where(Case.id == case_id).values(updated_at=Case.updated_at)
                      .execution_options(synchronize_session=False))
            case = self._fresh(s, case_id)
            if case is None or case.status != CLAIMED:
                return False
            if s.execute(select(CaseEvent.id).where(CaseEvent.case_id == case_id,
                                                    CaseEvent.kind == "flagged_stale")).first():
                return False
            hours = int(self.settings.claimed_stale_after.total_seconds() // 3600)
            ev = CaseEvent(case_id=case_id, kind="flagged_stale", actor=DESK.label, at=now,
                           detail=f"Đã nhận hơn {hours} giờ mà chưa xử lý xong")
            s.add(ev)
            s.flush()
            text = cards.stale_text(case, self.settings.supervisor_mention, self.settings.case_url(case_id))
            self._tg(s, f"stale:{case_id}", "tg_notice", case_id,
                     {"chat": "counselor", "reply_to_card": True, "text": text})
            if self.settings.supervisor_chat_id:
                self._tg(s, f"stale-sup:{case_id}", "tg_notice", case_id, {"chat": "supervisor", "text": text})
            self._tg(s, f"refresh:{case_id}:{ev.id}", "tg_refresh", case_id, {})
        log.warning("case %d flagged: claimed and not resolved in time", case_id)
        return True

    def watch_rest_conversations(self, reader: TranscriptReader) -> int:
        """Bring a REST resident's messages to a claimed case (the REST channel has no hand-off hook)."""
        with self.Session() as s:
            cases = list(s.execute(select(Case).where(Case.status == CLAIMED, Case.channel == "rest")).scalars())
        count = 0
        for case in cases:
            with self.Session() as s:
                mark = s.get(TrackerMark, case.sender_id)
                after = mark.last_event_id if mark else 0
            claimed_at = aware(case.claimed_at)
            lines = [line for line in reader.read(case.sender_id, after_id=after)]
            if not lines:
                continue
            count += with_retry(lambda c=case, ls=lines, ca=claimed_at: self._take_rest_lines(c, ls, ca))
        if count:
            self._poke()
        return count

    def _take_rest_lines(self, case: Case, lines: list, claimed_at: Any) -> int:
        taken = 0
        now = self.clock.now()
        with self.Session.begin() as s:
            mark = s.get(TrackerMark, case.sender_id)
            if mark is None:
                mark = TrackerMark(sender_id=case.sender_id, last_event_id=0)
                s.add(mark)
            known = set(s.execute(select(CaseEvent.detail).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == "resident_message",
                CaseEvent.at >= claimed_at)).scalars())
            for line in lines:
                if line.event_id <= mark.last_event_id:
                    continue
                mark.last_event_id = line.event_id
                if line.who != "resident" or line.at < claimed_at or line.text in known:
                    continue
                ev = CaseEvent(case_id=case.id, kind="resident_message", actor="resident", detail=line.text, at=now)
                s.add(ev)
                s.flush()
                queue_forward(s, ev, now, self.settings.telegram_enabled)
                taken += 1
        return taken


def queue_forward(s: Session, ev: CaseEvent, now: Any, telegram: bool = True) -> None:
    """Queue the Telegram message for a resident message or urgency change (idempotent per event)."""
    if not telegram:
        return
    if ev.kind == "urgency_raised":
        enqueue(s, key=f"refresh:{ev.case_id}:{ev.id}", kind="tg_refresh", lane=f"tg:{ev.case_id}",
                case_id=ev.case_id, payload={}, now=now)
    else:
        enqueue(s, key=f"fwd:{ev.id}", kind="tg_forward", lane=f"tg:{ev.case_id}", case_id=ev.case_id,
                payload={"event_id": ev.id}, now=now)
