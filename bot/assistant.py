"""What the custom actions need, built once on first use; tests replace it with fakes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.cases import CaseRequest, CaseStore, channel_of, record_case
from bot.config import CONTENT_DIR
from bot.content.library import Library
from bot.content.provinces import ProvinceMatch
from bot.triage import TriageResult

log = logging.getLogger(__name__)
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def today_vn() -> date:
    """Today's date in Vietnam."""
    return datetime.now(VN_TZ).date()


@dataclass
class Services:
    """Content, the case store and a clock."""

    library: Library
    store: CaseStore | None
    today: callable = today_vn  # type: ignore[valid-type]

    def escalate(self, sender_id: str, text: str, result: TriageResult, province: ProvinceMatch | None,
                 message_id: str | None) -> tuple[int | None, bool]:
        """Record a case (database, else the local spool). Returns (case id, recorded)."""
        req = CaseRequest(channel=channel_of(sender_id), sender_id=sender_id, urgency=result.urgency,
                          message=text, reasons=result.reasons, province=province.current if province else None,
                          message_id=message_id)
        try:
            case = record_case(self.store, req)
        except OSError:
            log.critical("CASE LOST: neither the database nor the spool accepted an urgent case")
            return None, False
        return (case.id if case else None), True


_services: Services | None = None


def services() -> Services:
    """The process-wide services, created on first use."""
    global _services
    if _services is None:
        from bot.db import init_db, make_engine

        library = Library.load(CONTENT_DIR)
        store = None
        try:
            engine = make_engine()
            init_db(engine)
            store = CaseStore(engine)
        except Exception:
            log.exception("case database unavailable at start; cases will be spooled")
        _services = Services(library, store)
    return _services


def set_services(value: Services | None) -> None:
    """Replace the services (tests)."""
    global _services
    _services = value
