"""Escalation: record a case (database with its card row, else the spool) and say whether it was kept."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.cases.models import Case
from bot.cases.spool import spool_case
from bot.cases.store import CaseRequest, CaseStore

log = logging.getLogger(__name__)


def record_case(store: CaseStore | None, req: CaseRequest, spool: Path | None = None) -> Case | None:
    """Write a case to the database; if that fails, spool it so nothing is lost."""
    if store is not None:
        try:
            case, _ = store.open_case(req)
            return case
        except SQLAlchemyError:
            log.error("case database unavailable; spooling case for channel=%s", req.channel)
    spool_case(req, spool)
    return None


def escalate_case(store: CaseStore | None, req: CaseRequest) -> tuple[int | None, bool]:
    """Record a case (database, else spool). Returns (case id if in the database, recorded at all)."""
    try:
        case = record_case(store, req)
    except OSError:
        log.critical("CASE LOST: neither the database nor the spool accepted an urgent case (channel=%s)",
                     req.channel)
        return None, False
    return (case.id if case else None), True
