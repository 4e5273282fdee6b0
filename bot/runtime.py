"""One runtime per process: the database engine, the case store and the reloading content library.

The action server, the Rasa-side channels and the desk each build exactly one, at start (never at
import); tests build their own with fakes. A database that is down at start leaves `store` None:
cases are then spooled, and the bot still answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.cases import shifts
from bot.cases.escalate import escalate_case
from bot.cases.store import CaseRequest, CaseStore
from bot.config import CONTENT_DIR
from bot.content.library import Library
from bot.content.provinces import ProvinceMatch
from bot.content.reloading import ContentLibrary
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.senders import channel_of
from bot.timeutil import Clock, SystemClock, today_vn
from bot.triage import TriageResult

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What every process shares: engine, case store, content, and a clock for dates."""

    engine: Engine | None
    store: CaseStore | None
    content: ContentLibrary
    today: Callable[[], date] = today_vn
    clock: Clock = field(default_factory=SystemClock)
    hours: shifts.WeekHours | None = None  # the default hours (DESK_HOURS); None reads the environment

    @property
    def library(self) -> Library:
        """The newest good content."""
        return self.content.current

    def availability(self) -> shifts.Availability | None:
        """Who reads a resident's message now and from when; None when the database cannot say (plain wording)."""
        if self.engine is None:
            return None
        try:
            return shifts.availability(self.engine, self.clock.now(), self.hours)
        except Exception:  # the urgent reply never waits on, or fails for, the roster
            log.warning("counselors' hours and roster unavailable; the reply keeps the plain wording")
            return None

    def escalate(self, sender_id: str, text: str, result: TriageResult, province: ProvinceMatch | None,
                 message_id: str | None) -> tuple[int | None, bool]:
        """Record a case with its card row (database, else the local spool). Returns (case id, recorded)."""
        req = CaseRequest(channel=channel_of(sender_id), sender_id=sender_id, urgency=result.urgency,
                          message=text, reasons=result.reasons,
                          province=province.current if province else None, message_id=message_id)
        return escalate_case(self.store, req)


def build_runtime(content_dir: Path = CONTENT_DIR, database_url: str | None = None) -> Runtime:
    """The runtime from the environment: the content must load; the database may be down."""
    content = ContentLibrary.load(content_dir)
    engine: Engine | None = None
    store: CaseStore | None = None
    try:
        engine = make_engine(database_url)
        init_db(engine)
        store = CaseStore(engine)
    except Exception:  # the bot must answer even without its database
        log.error("case database unavailable at start; cases will be spooled")
    return Runtime(engine, store, content, hours=shifts.default_hours())


def fixed_runtime(library: Library, store: CaseStore | None,
                  today: Callable[[], date] = today_vn) -> Runtime:
    """A runtime over given content and store (tests, tools)."""
    return Runtime(store.engine if store else None, store, ContentLibrary.fixed(library), today)


_process: Runtime | None = None


def process_runtime() -> Runtime:
    """This process's runtime, built on first use (the action server has no start hook)."""
    global _process
    if _process is None:
        _process = build_runtime()
    return _process


def set_process_runtime(runtime: Runtime | None) -> None:
    """Install a runtime for this process (entry points and tests); None forgets it."""
    global _process
    _process = runtime
