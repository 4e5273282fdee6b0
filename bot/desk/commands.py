"""What counselors do to cases: claim, resolve, reply, note, and the acknowledgement of a Telegram reply.

Every change is a case event, and every delivery it causes (card refresh, Rasa pause/resume, message
to the resident) is an outbox row written in the same transaction. Exactly one of several
simultaneous claims wins; only the counselor who claimed a case speaks to the resident; only she or a
supervisor (an account with that role, found by username or Telegram id) closes a claimed case, and
an unclaimed danger-now case is closed only with a reason, recorded in its history. A Telegram update
that causes a change is marked handled in the change's own transaction, so it acts at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.cases.models import CLAIMED, OPEN, RESOLVED, Case, CaseEvent
from bot.cases.outcomes import MAX_NOTE as MAX_OUTCOME_NOTE
from bot.cases.outcomes import OUTCOMES, outcome_label
from bot.db.engine import session_factory
from bot.desk import cards
from bot.desk.models import Account, SeenUpdate
from bot.desk.settings import DeskSettings
from bot.desk.writes import queue_rasa, queue_resident, queue_telegram, with_retry
from bot.timeutil import Clock, vn_time

log = logging.getLogger(__name__)
MAX_REPLY = 2000
MAX_NOTE = 4000
MIN_REASON, MAX_REASON = 5, 500
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

    @property
    def keys(self) -> frozenset[str]:
        """Every key of this person."""
        return self.aliases | {self.key}

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


class AlreadyHandled(Exception):
    """The Telegram update behind a command was handled before (a redelivery): nothing was done."""


def mark_handled(s: Session, update_id: int | None, now: datetime) -> None:
    """Record a Telegram update id in the caller's transaction; AlreadyHandled if it is there already."""
    if update_id is None:
        return
    if s.get(SeenUpdate, update_id) is not None:
        raise AlreadyHandled(update_id)
    s.add(SeenUpdate(update_id=update_id, at=now))
    try:
        s.flush()
    except IntegrityError as exc:  # the same update, handled at this moment by another delivery
        raise AlreadyHandled(update_id) from exc


def fresh_case(s: Session, case_id: int) -> Case | None:
    """The case row as the database has it now (not the session's cached copy)."""
    return s.execute(select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
                     ).scalar_one_or_none()


def is_supervisor(s: Session, actor: Actor) -> bool:
    """True when one of the actor's keys (`desk:<username>`, `tg:<id>`) is an active supervisor account."""
    usernames = [k[5:] for k in actor.keys if k.startswith("desk:")]
    telegram_ids = [int(k[3:]) for k in actor.keys if k.startswith("tg:") and k[3:].isdigit()]
    if not usernames and not telegram_ids:
        return False
    return s.execute(select(Account.id).where(
        Account.role == "supervisor", Account.active.is_(True),
        or_(Account.username.in_(usernames), Account.telegram_user_id.in_(telegram_ids))).limit(1)).first() is not None


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

    def claim(self, case_id: int, actor: Actor, via: str, update_id: int | None = None) -> Outcome:
        """Take a case; exactly one of several simultaneous claims wins."""
        return with_retry(lambda: self._claim(case_id, actor, via, update_id))

    def _claim(self, case_id: int, actor: Actor, via: str, update_id: int | None) -> Outcome:
        now = self.clock.now()
        with self.Session.begin() as s:
            mark_handled(s, update_id, now)
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

    def resolve(self, case_id: int, actor: Actor, via: str, reason: str | None = None,
                update_id: int | None = None, *, outcome: str | None = None, note: str | None = None) -> Outcome:
        """Close a case (its claimant or a supervisor; unclaimed danger needs a reason), with what became of it
        (a code of `OUTCOMES` and an optional note); the bot takes over again."""
        reason = " ".join((reason or "").split())
        note = " ".join((note or "").split())
        if len(reason) > MAX_REASON:
            return Outcome(False, f"Lý do dài quá {MAX_REASON} ký tự.")
        if outcome is not None and outcome not in OUTCOMES:
            return Outcome(False, "Kết quả xử lý không có trong danh sách.")
        if len(note) > MAX_OUTCOME_NOTE:
            return Outcome(False, f"Ghi chú kết quả dài quá {MAX_OUTCOME_NOTE} ký tự.")
        return with_retry(lambda: self._resolve(case_id, actor, via, reason, update_id, outcome, note))

    def _resolve(self, case_id: int, actor: Actor, via: str, reason: str, update_id: int | None,
                 outcome: str | None = None, note: str = "") -> Outcome:
        now = self.clock.now()
        with self.Session.begin() as s:
            mark_handled(s, update_id, now)
            case = fresh_case(s, case_id)
            if case is None:
                return Outcome(False, "Không tìm thấy ca này.")
            refused = self._may_not_resolve(s, case, actor, reason)
            if refused:
                return Outcome(False, refused, case)
            # Only the state that was checked may be closed: a claim in between makes this a no-op.
            was_claimed = case.status == CLAIMED
            if s.execute(update(Case).where(Case.id == case_id, Case.status == case.status,
                                            Case.claimed_by.is_(None) if case.claimed_by is None
                                            else Case.claimed_by == case.claimed_by)
                         .values(status=RESOLVED, resolved_at=now, updated_at=now, outcome=outcome,
                                 outcome_note=note or None)
                         .execution_options(synchronize_session=False)).rowcount != 1:
                return Outcome(False, f"Ca #{case.id} vừa thay đổi; hãy xem lại ca rồi thử lại.", case)
            detail = f"{via} · Lý do: {reason}" if reason else via
            if outcome:
                detail += f" · Kết quả: {outcome_label(outcome)}" + (f" · Ghi chú: {note}" if note else "")
            ev = CaseEvent(case_id=case.id, kind="resolved", actor=actor.label, detail=detail, at=now)
            s.add(ev)
            s.flush()
            self._tg(s, f"refresh:{case.id}:{ev.id}", "tg_refresh", case.id, {})
            queue_rasa(s, case, f"resume:{ev.id}", [{"event": "resume", "timestamp": now.timestamp()}], now)
            if was_claimed:
                # The numbers are read now: staff may have changed content/hotlines.yml since the desk started.
                text = cards.resident_resolved_text(self.hotlines())
                queue_resident(s, case, f"resolved:{ev.id}", text, "desk", by_human=False, now=now)
            event_id = ev.id
        log.info("case %d resolved via %s%s", case_id, via, " with a reason" if reason else "")
        self._poke()
        return Outcome(True, f"Đã đánh dấu ca #{case_id} là đã xử lý.", case, event_id)

    def resolve_refusal(self, case_id: int, actor: Actor, reason: str = "") -> str | None:
        """Why this person may not close this case now (asked before offering the outcomes), or None."""
        with self.Session() as s:
            case = s.get(Case, case_id)
            if case is None:
                return "Không tìm thấy ca này."
            return self._may_not_resolve(s, case, actor, " ".join(reason.split()))

    def _may_not_resolve(self, s: Session, case: Case, actor: Actor, reason: str) -> str | None:
        """Why this person may not close this case now (Vietnamese), or None."""
        if case.status == RESOLVED:
            return f"Ca #{case.id} đã được xử lý xong trước đó."
        if case.status == CLAIMED and not actor.owns(case.claimed_by) and not is_supervisor(s, actor):
            return (f"Ca #{case.id} do {cards.actor_name(case.claimed_by)} phụ trách; chỉ người nhận ca hoặc giám "
                    "sát mới đóng được ca này.")
        if case.status == OPEN and case.urgency == "danger_now" and len(reason) < MIN_REASON:
            # Short enough for a Telegram button answer (200 characters).
            return (f"Ca #{case.id} nguy hiểm, chưa ai nhận: hãy bấm «Nhận ca» trước, hoặc đóng ca kèm lý do "
                    f"(trùng lặp, nhầm lẫn…): gõ «/dong {case.id} <lý do>» trong nhóm, hoặc trên bảng điều khiển.")
        return None

    def reply(self, case_id: int, actor: Actor, text: str, via: str, update_id: int | None = None) -> Outcome:
        """Send a counselor's message to the resident (only by the counselor who claimed the case)."""
        text = (text or "").strip()
        if not text:
            return Outcome(False, "Tin nhắn trống.")
        if len(text) > MAX_REPLY:
            return Outcome(False, f"Tin nhắn dài quá {MAX_REPLY} ký tự, hãy chia nhỏ.")
        return with_retry(lambda: self._reply(case_id, actor, text, update_id))

    def _reply(self, case_id: int, actor: Actor, text: str, update_id: int | None) -> Outcome:
        now = self.clock.now()
        with self.Session.begin() as s:
            mark_handled(s, update_id, now)
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
        return Outcome(True, "Tin nhắn đã vào hàng gửi tới người dân; xem trạng thái gửi trên trang ca.", case, event_id)

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
                          "text": f"📨 Đã nhận, đang gửi tới người dân (ca #{case_id}); nếu không gửi được, nhóm sẽ được báo."})
        with_retry(run)
        self._poke()
