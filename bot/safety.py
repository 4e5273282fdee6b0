"""Last line of defence: an urgent message always gets the hotline reply, whatever else is down."""

from __future__ import annotations

import asyncio
import logging

from bot.assistant import services
from bot.cases import CaseRequest, CaseStore, channel_of, escalate_case
from bot.content.library import Library
from bot.replies import urgent_reply
from bot.triage import TriageResult, assess

log = logging.getLogger(__name__)
HOTLINE_MARK = "113"  # every urgent reply carries the police number; without it the safety net answers


def safety_reply(library: Library, store: CaseStore | None, sender_id: str, text: str, result: TriageResult,
                 message_id: str | None = None, channel: str | None = None) -> str:
    """Record the case (database, else spool) and compose the hotline reply, without Rasa or the actions."""
    province = library.provinces.find(text)
    req = CaseRequest(channel=channel or channel_of(sender_id), sender_id=sender_id, urgency=result.urgency,
                      message=text, reasons=(*result.reasons, "trả lời dự phòng (trợ lý không phản hồi)"),
                      province=province.current if province else None, message_id=message_id)
    case_id, recorded = escalate_case(store, req)
    log.warning("safety net answered an urgent message (channel=%s, recorded=%s)", req.channel, recorded)
    return urgent_reply(result, library, province, case_id, recorded)


def _human_owned(store: CaseStore | None, sender_id: str) -> bool:
    if store is None:
        return False
    from bot.handoff import human_owner

    try:
        return human_owner(store.engine, sender_id) is not None
    except Exception:
        return False


async def ensure_hotline(sender_id: str, text: str, replies: list[str], message_id: str | None = None) -> str | None:
    """The reply to add when an urgent message got no hotline reply (Rasa or actions down); else None."""
    result = assess(text)
    if not result.urgent or any(HOTLINE_MARK in r for r in replies):
        return None
    svc = services()
    if await asyncio.to_thread(_human_owned, svc.store, sender_id):
        return None
    return await asyncio.to_thread(safety_reply, svc.library, svc.store, sender_id, text, result, message_id)
