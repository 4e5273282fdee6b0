"""Last line of defence: an urgent message always gets the hotline reply, whatever else is down."""

from __future__ import annotations

import asyncio
import logging

from bot.assistant import services
from bot.cases import CaseRequest, CaseStore, channel_of, record_case
from bot.replies import urgent_reply
from bot.triage import assess

log = logging.getLogger(__name__)
HOTLINE_MARK = "113"


def _record(store: CaseStore | None, req: CaseRequest) -> tuple[int | None, bool]:
    try:
        case = record_case(store, req)
    except OSError:
        log.critical("CASE LOST: neither the database nor the spool accepted an urgent case")
        return None, False
    return (case.id if case else None), True


def _human_owned(store: CaseStore | None, sender_id: str) -> bool:
    if store is None:
        return False
    from bot.handoff import human_owner

    try:
        return human_owner(store.engine, sender_id) is not None
    except Exception:  # noqa: BLE001 - unknown ownership: answer rather than stay silent
        return False


async def ensure_hotline(sender_id: str, text: str, replies: list[str], message_id: str | None = None) -> str | None:
    """The reply to add when an urgent message got no hotline reply (Rasa or actions down); else None."""
    result = assess(text)
    if not result.urgent or any(HOTLINE_MARK in r for r in replies):
        return None
    svc = services()
    if await asyncio.to_thread(_human_owned, svc.store, sender_id):
        return None
    req = CaseRequest(channel=channel_of(sender_id), sender_id=sender_id, urgency=result.urgency, message=text,
                      reasons=(*result.reasons, "trả lời dự phòng (trợ lý không phản hồi)"), message_id=message_id)
    case_id, recorded = await asyncio.to_thread(_record, svc.store, req)
    log.error("safety net answered an urgent message the assistant did not (case recorded: %s)", recorded)
    province = svc.library.provinces.find(text)
    return urgent_reply(result, svc.library, province, case_id, recorded)
