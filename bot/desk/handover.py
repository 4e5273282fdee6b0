"""The hand-over at the end of a shift: a counselor gives her claimed cases, with a note, to a counselor on duty
or back to the queue.

Guarantees: only cases the counselor still holds move (`UPDATE … WHERE status='claimed' AND claimed_by=<her>`),
so a second submit, or a race with a resolve, moves nothing twice; each case gets a history entry with the note and
its outbox rows in the same transaction (Telegram gets the note masked, the history keeps it whole). The resident
is told nothing: no message goes out in her conversation. A case given to a colleague stays claimed (Rasa stays
paused); a case handed back is open again, re-announced to the group and to the counselors on duty, its Rasa
conversation resumed (the bot answers until someone claims it), and its re-escalation clock restarts at the
hand-back (`Reconcilers.reescalate_due`).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.cases import shifts
from bot.cases.models import CLAIMED, OPEN, Case, CaseEvent
from bot.desk import cards
from bot.desk.commands import Actor, CaseCommands, Outcome
from bot.desk.models import Account
from bot.desk.writes import queue_rasa, queue_telegram, with_retry
from bot.outbox.enqueue import case_priority, enqueue

log = logging.getLogger(__name__)
MIN_NOTE, MAX_NOTE = 5, 2000
QUEUE = ""  # the target "back to the queue"


@dataclass(frozen=True)
class Colleague:
    """Someone a case can be handed to."""

    username: str
    name: str
    telegram_user_id: int | None

    @property
    def label(self) -> str:
        """The stored actor label of the new owner."""
        return f"{self.name} <desk:{self.username}>"


def colleagues(commands: CaseCommands, actor: Actor) -> list[Colleague]:
    """Who may take the actor's cases: the counselors on duty now (any active counselor when no roster is kept)."""
    now = commands.clock.now()
    avail = shifts.availability(commands.engine, now)
    on = {d.username for d in (*avail.on_duty, *([avail.supervisor] if avail.supervisor else []))}
    with commands.Session() as s:
        rows = s.execute(select(Account).where(Account.active.is_(True), Account.role.in_(("counselor", "supervisor")))
                         .order_by(Account.display_name)).scalars()
        found = [Colleague(a.username, a.display_name, a.telegram_user_id) for a in rows
                 if (a.username in on or not avail.roster_kept)]
    return [c for c in found if not actor.owns(c.label)]


def held_cases(commands: CaseCommands, actor: Actor) -> list[Case]:
    """The claimed cases this person holds, oldest first."""
    with commands.Session() as s:
        return _held(s, actor, None)


def _held(s: Session, actor: Actor, case_ids: Iterable[int] | None) -> list[Case]:
    # LIKE narrows the rows (a `_` in a name matches any character); `owns` decides.
    q = select(Case).where(Case.status == CLAIMED,
                           or_(*[Case.claimed_by.like(f"% <{key}>") for key in sorted(actor.keys)]))
    if case_ids is not None:
        q = q.where(Case.id.in_(list(case_ids)))
    return [c for c in s.execute(q.order_by(Case.id)).scalars() if actor.owns(c.claimed_by)]


def hand_over(commands: CaseCommands, actor: Actor, to: str, note: str, via: str,
              case_ids: Iterable[int] | None = None) -> Outcome:
    """Give the actor's claimed cases (all, or `case_ids`) to colleague `to` (a username) or back to the queue ("")."""
    note = " ".join((note or "").split())
    if len(note) < MIN_NOTE:
        return Outcome(False, "Hãy ghi chú tình hình các ca (ít nhất vài chữ) cho người nhận bàn giao.")
    if len(note) > MAX_NOTE:
        return Outcome(False, f"Ghi chú dài quá {MAX_NOTE} ký tự.")
    target: Colleague | None = None
    if to != QUEUE:
        target = next((c for c in colleagues(commands, actor) if c.username == to), None)
        if target is None:
            return Outcome(False, "Chỉ bàn giao được cho một tư vấn viên đang trực (hoặc trả ca về hàng chờ).")
    duty_chats = _duty_chats(commands, actor) if target is None else []
    ids = list(case_ids) if case_ids is not None else None
    moved = with_retry(lambda: _move(commands, actor, target, note, via, ids, duty_chats))
    if not moved:
        return Outcome(False, "Bạn không còn ca nào đang nhận để bàn giao.")
    try:
        commands.on_enqueue()
    except Exception:  # waking the dispatcher is an optimisation only
        log.debug("could not wake the dispatcher", exc_info=True)
    log.info("%d case(s) handed over via %s (%s)", len(moved), via, "to a colleague" if target else "to the queue")
    listed = ", ".join(f"#{i}" for i in moved)
    if target is not None:
        return Outcome(True, f"Đã bàn giao {len(moved)} ca ({listed}) cho {target.name}.")
    return Outcome(True, f"Đã trả {len(moved)} ca ({listed}) về hàng chờ; nhóm tư vấn đã được báo.")


def _duty_chats(commands: CaseCommands, actor: Actor) -> list[str]:
    """Telegram ids of the counselors on duty, to re-alert them about a case handed back (none without a roster)."""
    if not shifts.on_duty(commands.engine, commands.clock.now()):
        return []
    return [str(c.telegram_user_id) for c in colleagues(commands, actor) if c.telegram_user_id]


def _move(commands: CaseCommands, actor: Actor, target: Colleague | None, note: str, via: str,
          case_ids: list[int] | None, duty_chats: list[str]) -> list[int]:
    now = commands.clock.now()
    moved: list[int] = []
    with commands.Session.begin() as s:
        for case in _held(s, actor, case_ids):
            values = ({"claimed_by": target.label, "claimed_at": now} if target is not None
                      else {"status": OPEN, "claimed_by": None, "claimed_at": None})
            if s.execute(update(Case).where(Case.id == case.id, Case.status == CLAIMED,
                                            Case.claimed_by == case.claimed_by)
                         .values(updated_at=now, **values).execution_options(synchronize_session=False)
                         ).rowcount != 1:
                continue
            kind = shifts.HANDED_OVER if target is not None else shifts.RETURNED
            where = f"Bàn giao cho {target.name}" if target is not None else "Trả lại hàng chờ"
            ev = CaseEvent(case_id=case.id, kind=kind, actor=actor.label, at=now,
                           detail=f"{where} ({via}) · Ghi chú: {note}")
            s.add(ev)
            s.flush()
            _announce(commands, s, case, ev.id, actor, target, note, duty_chats, now)
            moved.append(case.id)
    return moved


def _announce(commands: CaseCommands, s: Session, case: Case, event_id: int, actor: Actor,
              target: Colleague | None, note: str, duty_chats: list[str], now: datetime) -> None:
    """The card refresh, the group's notice, direct messages; for a hand-back also the Rasa resume."""
    enabled = commands.settings.telegram_enabled
    queue_telegram(s, enabled=enabled, key=f"refresh:{case.id}:{event_id}", kind="tg_refresh", case_id=case.id,
                   payload={}, now=now)
    who, said = html.escape(actor.name), html.escape(cards.excerpt(note, MAX_NOTE))  # masked, as resident details
    if target is not None:
        text = (f"🔁 Ca #{case.id}: {who} bàn giao cho {html.escape(target.name)} khi hết ca.\nGhi chú: {said}")
        chats = [str(target.telegram_user_id)] if target.telegram_user_id else []
    else:
        text = (f"🔁 Ca #{case.id} được {who} trả lại hàng chờ khi hết ca: chưa ai phụ trách. Xin một tư vấn viên "
                f"bấm «Nhận ca».\nGhi chú: {said}\n{html.escape(commands.settings.case_url(case.id))}")
        chats = duty_chats
        queue_rasa(s, case, f"resume:{event_id}", [{"event": "resume", "timestamp": now.timestamp()}], now)
    queue_telegram(s, enabled=enabled, key=f"handover:{event_id}", kind="tg_notice", case_id=case.id, now=now,
                   payload={"chat": "counselor", "reply_to_card": True, "text": text})
    if enabled:
        for chat in dict.fromkeys(chats):
            enqueue(s, key=f"handover:{event_id}:dm:{chat}", kind="tg_notice", lane=f"tgdm:{chat}:{case.id}",
                    case_id=case.id, now=now, priority=case_priority(s, case.id),
                    payload={"chat": chat, "text": text, "direct": True})
