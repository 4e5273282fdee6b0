"""What the custom actions need, built once on first use; tests replace it with fakes."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cases import CaseRequest, CaseStore, channel_of, escalate_case
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
    today: Callable[[], date] = today_vn

    def escalate(self, sender_id: str, text: str, result: TriageResult, province: ProvinceMatch | None,
                 message_id: str | None) -> tuple[int | None, bool]:
        """Record a case (database, else the local spool). Returns (case id, recorded)."""
        req = CaseRequest(channel=channel_of(sender_id), sender_id=sender_id, urgency=result.urgency,
                          message=text, reasons=result.reasons, province=province.current if province else None,
                          message_id=message_id)
        return escalate_case(self.store, req)


_services: Services | None = None
_managed = False  # True when built here (then content is reloaded when its files change)
_content_stamp = 0.0
_checked_at = 0.0
RELOAD_CHECK_S = 15.0


def content_stamp(folder: Path) -> float:
    """The newest modification time of any file under the content folder."""
    newest = 0.0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
            except OSError:
                continue
    return newest


def _maybe_reload(svc: Services) -> None:
    """Reload content (hotlines, events, campaign) when staff changed the files; keep the old on error."""
    global _content_stamp, _checked_at
    now = time.monotonic()
    if now - _checked_at < RELOAD_CHECK_S:
        return
    _checked_at = now
    stamp = content_stamp(CONTENT_DIR)
    if stamp == _content_stamp:
        return
    try:
        svc.library = Library.load(CONTENT_DIR)
        _content_stamp = stamp
        log.info("content reloaded from %s", CONTENT_DIR)
    except Exception:  # a broken edit must not take the bot down
        log.exception("content reload failed; the previous content stays in use")


def services() -> Services:
    """The process-wide services, created on first use; content follows edits to content/."""
    global _services, _managed, _content_stamp, _checked_at
    if _services is None:
        from bot.db import init_db, make_engine

        _content_stamp, _checked_at = content_stamp(CONTENT_DIR), time.monotonic()
        library = Library.load(CONTENT_DIR)
        store = None
        try:
            engine = make_engine()
            init_db(engine)
            store = CaseStore(engine)
        except Exception:  # the bot must answer even without its database
            log.exception("case database unavailable at start; cases will be spooled")
        _services, _managed = Services(library, store), True
    elif _managed:
        _maybe_reload(_services)
    return _services


def set_services(value: Services | None) -> None:
    """Replace the services (tests); replaced services are not reloaded."""
    global _services, _managed
    _services, _managed = value, False
