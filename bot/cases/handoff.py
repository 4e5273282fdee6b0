"""Who owns a conversation: the bot, or a counselor who claimed the resident's case.

The channels call `human_owner` before every bot reply and, while a counselor owns the
conversation, `forward_resident_message` instead of answering. The desk changes the owner:
claiming a case pauses the Rasa conversation, resolving it resumes the bot.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cases.models import CLAIMED, Case, CaseEvent
from bot.db.engine import session_factory
from bot.outbox.enqueue import queue_forward
from bot.timeutil import utcnow


def human_owner(engine: Engine, sender_id: str) -> int | None:
    """The id of the claimed case whose counselor owns this conversation, else None (the bot answers)."""
    with session_factory(engine)() as s:
        return s.execute(select(Case.id).where(Case.sender_id == sender_id, Case.status == CLAIMED)
                         .order_by(Case.id.desc()).limit(1)).scalar_one_or_none()


def forward_resident_message(engine: Engine, case_id: int, text: str) -> None:
    """Record a resident's message on the case and queue it for the counselors' group, in one transaction.

    The desk's outbox delivers it as a reply to the case card, mentioning the counselor who claimed
    the case; a reply to that message in Telegram goes back to the resident.
    """
    now = utcnow()
    with session_factory(engine).begin() as s:
        ev = CaseEvent(case_id=case_id, kind="resident_message", actor="resident", detail=text, at=now)
        s.add(ev)
        s.flush()
        queue_forward(s, ev, now)
