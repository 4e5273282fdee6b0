"""What the desk does on its own, on a timer: backstops for cards and forwards, reminders, REST hand-off.

Cards and forwards are queued with the case change itself (`bot.cases.store`, `bot.cases.handoff`);
the reconcilers only catch what slipped through (cases written before that, or by an older process)
and are safe to run any number of times: every row they queue has the key the change would have used.
A reminder (re-escalation of an unclaimed case, flag of a stale claim) is written at most once per level.
A re-escalation also goes, as direct messages, to the counselors on duty (and from the second level to the
supervisor on call) who have a Telegram id; with no roster nothing more is sent. A case handed back to the queue
starts its re-escalation clock again at the hand-back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.engine import Engine

from bot.cases import shifts
from bot.cases.models import CLAIMED, OPEN, RESOLVED, Case, CaseEvent
from bot.db.engine import session_factory
from bot.desk import cards
from bot.desk.commands import DESK, fresh_case
from bot.desk.models import Account, TrackerMark
from bot.desk.rasa import TranscriptLine, TranscriptReader
from bot.desk.settings import DeskSettings
from bot.desk.writes import queue_telegram, with_retry
from bot.outbox.enqueue import case_priority, enqueue, queue_card, queue_forward
from bot.outbox.models import OutboxItem
from bot.timeutil import Clock, aware

log = logging.getLogger(__name__)
_LEVEL_RE = re.compile(r"^Lần (\d+)")


@dataclass(frozen=True)
class Reminder:
    """One reminder about a case: its event, the status it requires, and its Telegram texts' keys."""

    kind: str              # reescalated | flagged_stale
    status: str            # the case must still have this status
    level: int
    detail: str
    key: str               # of the group's notice; the supervisor's is `<prefix>-sup:...`
    supervisor_key: str
    text: Callable[[Case], str]
    supervisor_card: bool = False
    direct_chats: tuple[str, ...] = ()  # Telegram ids of the people on duty told directly
    since_event: int = 0   # levels count from this event on (a hand-back to the queue starts a new round)


def _reached(details: list[str | None]) -> int:
    """The highest level already written ("Lần N: …"; a detail without a level counts as level 1)."""
    return max(((int(m.group(1)) if (m := _LEVEL_RE.match(d or "")) else 1) for d in details), default=0)


class Reconcilers:
    """The desk's own periodic work; engine, clock and settings are passed in."""

    def __init__(self, engine: Engine, clock: Clock, settings: DeskSettings,
                 on_enqueue: Callable[[], None] = lambda: None) -> None:
        """`on_enqueue` wakes the dispatcher after a pass that queued rows."""
        self.engine = engine
        self.Session = session_factory(engine)
        self.clock = clock
        self.settings = settings
        self.on_enqueue = on_enqueue
        self._event_mark: int | None = None

    def _poke(self, count: int) -> int:
        if count:
            self.on_enqueue()
        return count

    # ---- backstops -------------------------------------------------------------------------------
    def announce_new_cases(self, limit: int = 200) -> int:
        """Queue a card for every unresolved case that has no card row (e.g. written by an older process)."""
        if not self.settings.telegram_enabled:
            return 0

        def run() -> int:
            with self.Session.begin() as s:
                has_card = exists().where(OutboxItem.case_id == Case.id, OutboxItem.kind == "tg_card")
                ids = list(s.execute(select(Case.id).where(Case.status != RESOLVED, ~has_card)
                                     .order_by(Case.id).limit(limit)).scalars())
                for case_id in ids:
                    queue_card(s, case_id, self.clock.now())
                return len(ids)
        return self._poke(with_retry(run))

    def forward_events(self) -> int:
        """Queue Telegram messages for resident messages and urgency changes that have none."""
        if not self.settings.telegram_enabled:
            return 0

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
                    queue_forward(s, ev, self.clock.now())
                if rows:
                    self._event_mark = rows[-1].id
                return len(rows)
        return self._poke(with_retry(run))

    # ---- reminders -------------------------------------------------------------------------------
    def reescalate_due(self) -> int:
        """Announce again (with the supervisor) every open case past its urgency's deadline."""
        now = self.clock.now()
        deadlines = self.settings.deadlines
        with self.Session() as s:
            candidates = list(s.execute(select(Case).where(
                Case.status == OPEN, Case.created_at <= now - min(deadlines.values()))).scalars())
        rounds = shifts.returned_to_queue(self.engine, [c.id for c in candidates]) if candidates else {}
        on_duty: tuple[list[str], list[str]] | None = None
        done = 0
        for case in candidates:
            round_id, since = rounds.get(case.id, (0, aware(case.created_at)))
            waited = now - since
            level = min(int(waited / (deadlines.get(case.urgency) or max(deadlines.values()))),
                        self.settings.max_reescalations)
            if level < 1:
                continue
            if on_duty is None:
                on_duty = self._duty_chats(now)
            counselors, supervisors = on_duty
            minutes = int(waited.total_seconds() // 60)
            url = self.settings.case_url(case.id)
            tag = f"{case.id}:r{round_id}:{level}" if round_id else f"{case.id}:{level}"
            reminder = Reminder(
                kind="reescalated", status=OPEN, level=level, key=f"reesc:{tag}",
                supervisor_key=f"reesc-sup:{tag}", supervisor_card=True,
                detail=f"Lần {level}: chưa ai nhận sau {minutes} phút; đã báo giám sát",
                text=lambda c, lv=level, w=waited, u=url: cards.reescalation_text(
                    c, lv, w, self.settings.supervisor_mention, u),
                direct_chats=tuple(dict.fromkeys(counselors + (supervisors if level >= 2 else []))),
                since_event=round_id)
            done += with_retry(lambda c=case.id, r=reminder: self._remind(c, r))
        return self._poke(done)

    def _duty_chats(self, now: datetime) -> tuple[list[str], list[str]]:
        """Telegram ids of the active accounts on duty now: (counselors, supervisors on call)."""
        duties = shifts.on_duty(self.engine, now)
        if not duties:
            return [], []
        with self.Session() as s:
            ids = dict(s.execute(select(Account.username, Account.telegram_user_id).where(
                Account.username.in_({d.username for d in duties}), Account.active.is_(True),
                Account.telegram_user_id.is_not(None))).all())
        chats = ([str(ids[d.username]) for d in duties if d.username in ids and d.on_call == on_call]
                 for on_call in (False, True))
        return next(chats), next(chats)

    def flag_stale(self) -> int:
        """Flag claimed cases not resolved within the configured time (default a day), once."""
        limit = self.clock.now() - self.settings.claimed_stale_after
        with self.Session() as s:
            flagged = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == "flagged_stale")
            ids = list(s.execute(select(Case.id).where(Case.status == CLAIMED, Case.claimed_at <= limit, ~flagged)
                                 ).scalars())
        hours = int(self.settings.claimed_stale_after.total_seconds() // 3600)
        done = 0
        for case_id in ids:
            url = self.settings.case_url(case_id)
            reminder = Reminder(
                kind="flagged_stale", status=CLAIMED, level=1, key=f"stale:{case_id}",
                supervisor_key=f"stale-sup:{case_id}", detail=f"Đã nhận hơn {hours} giờ mà chưa xử lý xong",
                text=lambda c, u=url: cards.stale_text(c, self.settings.supervisor_mention, u))
            done += with_retry(lambda c=case_id, r=reminder: self._remind(c, r))
        return self._poke(done)

    def _remind(self, case_id: int, reminder: Reminder) -> bool:
        """Write the reminder's event and notices unless the case moved on or this level was reached."""
        now = self.clock.now()
        telegram = self.settings.telegram_enabled
        with self.Session.begin() as s:
            # A no-op write first, so this transaction holds the write lock before it reads (SQLite).
            s.execute(update(Case).where(Case.id == case_id).values(updated_at=Case.updated_at)
                      .execution_options(synchronize_session=False))
            case = fresh_case(s, case_id)
            if case is None or case.status != reminder.status:
                return False
            details = list(s.execute(select(CaseEvent.detail).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == reminder.kind,
                CaseEvent.id > reminder.since_event)).scalars())
            if reminder.level <= _reached(details):
                return False
            ev = CaseEvent(case_id=case_id, kind=reminder.kind, actor=DESK.label, at=now, detail=reminder.detail)
            s.add(ev)
            s.flush()
            text = reminder.text(case)
            queue_telegram(s, enabled=telegram, key=reminder.key, kind="tg_notice", case_id=case_id, now=now,
                           payload={"chat": "counselor", "reply_to_card": True, "text": text})
            if self.settings.supervisor_chat_id:
                queue_telegram(s, enabled=telegram, key=reminder.supervisor_key, kind="tg_notice",
                               case_id=case_id, now=now, payload={"chat": "supervisor", "text": text})
                if reminder.supervisor_card:
                    queue_telegram(s, enabled=telegram, key=f"supcard:{case_id}", kind="tg_supervisor_card",
                                   case_id=case_id, now=now, payload={})
            queue_telegram(s, enabled=telegram, key=f"refresh:{case_id}:{ev.id}", kind="tg_refresh",
                           case_id=case_id, now=now, payload={})
            for chat in reminder.direct_chats if telegram else ():
                # One lane per person and case: a counselor who never opened the bot holds up nobody else.
                enqueue(s, key=f"{reminder.key}:dm:{chat}", kind="tg_notice", lane=f"tgdm:{chat}:{case_id}",
                        case_id=case_id, now=now, priority=case_priority(s, case_id),
                        payload={"chat": chat, "text": text, "direct": True})
        log.warning("case %d: %s (level %d)", case_id, reminder.kind, reminder.level)
        return True

    # ---- REST hand-off ---------------------------------------------------------------------------
    def watch_rest_conversations(self, reader: TranscriptReader) -> int:
        """Bring a REST resident's messages to a claimed case (the REST channel has no hand-off hook)."""
        with self.Session() as s:
            claimed = list(s.execute(select(Case).where(Case.status == CLAIMED, Case.channel == "rest")).scalars())
        count = 0
        for case in claimed:
            with self.Session() as s:
                mark = s.get(TrackerMark, case.sender_id)
                after = mark.last_event_id if mark else 0
            lines = reader.read(case.sender_id, after_id=after)
            if lines:
                count += with_retry(lambda c=case, ls=lines: self._take_rest_lines(c, ls))
        return self._poke(count)

    def _take_rest_lines(self, case: Case, lines: list[TranscriptLine]) -> int:
        taken = 0
        now = self.clock.now()
        claimed_at = aware(case.claimed_at)
        with self.Session.begin() as s:
            mark = s.get(TrackerMark, case.sender_id)
            if mark is None:
                mark = TrackerMark(sender_id=case.sender_id, last_event_id=0)
                s.add(mark)
            # A message the action already joined to the case is known by its Rasa message id; the text
            # decides only for events without an id, so a resident repeating "cứu" is never dropped.
            joined = s.execute(select(CaseEvent.message_id, CaseEvent.detail).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == "resident_message",
                CaseEvent.at >= claimed_at)).all()
            known_ids = {mid for mid, _ in joined if mid}
            known_texts = {detail for mid, detail in joined if not mid}
            for line in lines:
                if line.event_id <= mark.last_event_id:
                    continue
                mark.last_event_id = line.event_id
                if line.who != "resident" or line.at < claimed_at:
                    continue
                if (line.message_id in known_ids) if line.message_id else (line.text in known_texts):
                    continue
                ev = CaseEvent(case_id=case.id, kind="resident_message", actor="resident", detail=line.text, at=now,
                               message_id=line.message_id)
                s.add(ev)
                s.flush()
                if self.settings.telegram_enabled:
                    queue_forward(s, ev, now)
                taken += 1
        return taken
