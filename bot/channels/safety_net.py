"""Last line of defence: an urgent message always gets the hotline reply and a case, whatever else is down.

Used by the platform channels (through `decide_turn`) and by the REST channel. The case goes to
the database, else to the local spool; the reply's numbers come from the current content; a message in
another language than Vietnamese gets the English reply.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cases.escalate import escalate_case
from bot.cases.handoff import human_owner
from bot.cases.models import Case
from bot.cases.store import CaseRequest, CaseStore
from bot.content.library import Library
from bot.db.engine import session_factory
from bot.language import detect_language
from bot.replies import urgent_reply
from bot.replies_en import urgent_reply_en
from bot.senders import channel_of
from bot.triage import TriageResult

log = logging.getLogger(__name__)
SAFETY_NET_REASON = "trả lời dự phòng (trợ lý không phản hồi)"


def safety_reply(library: Library, store: CaseStore | None, sender_id: str, text: str, result: TriageResult,
                 message_id: str | None = None, channel: str | None = None) -> str:
    """Record the case (database, else spool) and compose the hotline reply, without Rasa or the actions."""
    province = library.provinces.find(text)
    req = CaseRequest(channel=channel or channel_of(sender_id), sender_id=sender_id, urgency=result.urgency,
                      message=text, reasons=(*result.reasons, SAFETY_NET_REASON),
                      province=province.current if province else None, message_id=message_id)
    case_id, recorded = escalate_case(store, req)
    log.warning("safety net answered an urgent message (channel=%s, recorded=%s)", req.channel, recorded)
    if detect_language(text) != "vi":  # English for a message in another language, as the assistant does
        return urgent_reply_en(result, library, province, case_id, recorded)
    return urgent_reply(result, library, province, case_id, recorded)


def case_opened_for(engine: Engine | None, message_id: str) -> bool:
    """Whether a case was opened for this message id (False when unknown: the safety net answers)."""
    if engine is None:
        return False
    try:
        with session_factory(engine)() as s:
            return s.execute(select(Case.id).where(Case.message_id == message_id).limit(1)).first() is not None
    except SQLAlchemyError:
        log.warning("case lookup unavailable; the safety net answers")
        return False


def owned_by_counselor(engine: Engine | None, sender_id: str) -> bool:
    """Whether a counselor owns the conversation (False when unknown)."""
    if engine is None:
        return False
    try:
        return human_owner(engine, sender_id) is not None
    except Exception:  # unknown ownership must never silence the hotline reply
        return False
