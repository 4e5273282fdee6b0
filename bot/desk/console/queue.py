"""The counselors' queue (`/cases`): what to pick up next, in pages of 50, live.

Order: unclaimed cases first, then claimed ones; within each danger-now first, then the assessment's
`priority` (higher first), then the longest wait. «Đã xong» lists resolved cases, the latest first.
Every query is bounded: a page reads 50 rows, the counts are indexed aggregates, and a text search masks
at most `SEARCH_SCAN` candidates (masked starts are remembered, bounded, since the page polls every 2 s). The search matches what the list shows: the masked start of the message
(phone numbers, e-mails, names and addresses cannot be found by their value), or a case number.
A case handed back to the queue restarts its re-escalation clock at the hand-back, as the reminder loop does.
The header says who is on duty now (`bot.cases.shifts.availability`). A resident's text is cut before it is
masked; the database read and the rendering run in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.engine import Engine

from bot.cases.models import CLAIMED, DANGER_NOW, OPEN, RESOLVED, URGENCIES, Case
from bot.cases.shifts import Availability, availability, returned_to_queue, when_phrase
from bot.db.engine import session_factory
from bot.desk import cards, keys
from bot.desk.auth import current_user, require_role
from bot.desk.commands import Actor
from bot.desk.console.cases import actor_for
from bot.desk.console.pages import render
from bot.desk.deadlines import Deadline, deadline_for, overdue_clause
from bot.desk.settings import DeskSettings
from bot.senders import CHANNELS
from bot.timeutil import aware

PAGE_SIZE = 50
PREVIEW = 120
PREVIEW_MARGIN = 80  # longer than any phone number the masking recognises
SEARCH_CHARS = 300
SEARCH_SCAN = 200
MAX_QUERY = 100
VIEWS = {"open": "Tất cả đang mở", "mine": "Của tôi", "unclaimed": "Chưa ai nhận", "overdue": "Quá hạn",
         "done": "Đã xong"}
_CASE_NUMBER = re.compile(r"#?\s*(\d{1,12})")


@dataclass(frozen=True)
class QueueFilters:
    """What the counselor asked for: a view, a search, an urgency, a channel and a page."""

    view: str = "open"
    q: str = ""
    urgency: str = ""
    channel: str = ""
    page: int = 1

    def query(self, **changes: Any) -> str:
        """The URL query of these filters with some values changed (empty values left out)."""
        values = {"view": self.view, "q": self.q, "urgency": self.urgency, "channel": self.channel,
                  "page": self.page, **changes}
        if values["view"] == "open":
            values["view"] = ""
        if values["page"] == 1:
            values["page"] = ""
        return urlencode({k: v for k, v in values.items() if v})


@dataclass(frozen=True)
class QueueRow:
    """One case of the queue: its facts, a masked preview, its wait and (unclaimed) its re-escalation clock."""

    id: int
    urgency: str
    status: str
    claimed_by: str | None
    channel: str
    created_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    province: str | None
    preview: str
    deadline: Deadline | None


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue, the number of cases matching, and the counts of every view."""

    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    now: datetime
    truncated: bool = False  # a text search looked at SEARCH_SCAN candidates only
    version: str = ""        # changes when anything but the clocks would render differently

    @property
    def waiting(self) -> int:
        """Open cases nobody has claimed (the number in the page title)."""
        return self.counts["unclaimed"]


@functools.lru_cache(maxsize=4096)
def masked(head: str, limit: int) -> str:
    """The masked excerpt of a message's start; the page polls every 2 s, so each start is masked once."""
    return cards.excerpt(head, limit)


def parse_filters(query: Any) -> QueueFilters:
    """Filters from a request's query string; anything unknown falls back to the default."""
    view = query.get("view", "")
    urgency, channel = query.get("urgency", ""), query.get("channel", "")
    raw_page = query.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) < 7 else 1
    return QueueFilters(view=view if view in VIEWS else "open", q=" ".join(query.get("q", "").split())[:MAX_QUERY],
                        urgency=urgency if urgency in URGENCIES else "",
                        channel=channel if channel in CHANNELS else "", page=max(page, 1))


def _mine_clause(actor: Actor) -> Any:
    return and_(Case.status == CLAIMED,
                or_(*(Case.claimed_by.endswith(f"<{key}>", autoescape=True) for key in sorted(actor.keys))))


def _view_clause(view: str, actor: Actor, now: datetime, settings: DeskSettings) -> Any:
    return {"open": Case.status.in_((OPEN, CLAIMED)), "unclaimed": Case.status == OPEN,
            "mine": _mine_clause(actor), "overdue": overdue_clause(now, settings),
            "done": Case.status == RESOLVED}[view]


def _order(view: str) -> tuple[Any, ...]:
    if view == "done":
        return Case.resolved_at.desc(), Case.id.desc()
    return (sql_case((Case.status == OPEN, 0), else_=1), sql_case((Case.urgency == DANGER_NOW, 0), else_=1),
            Case.priority.desc(), Case.created_at, Case.id)


def view_counts(s: Any, actor: Actor, now: datetime, settings: DeskSettings) -> dict[str, int]:
    """How many cases each view holds (indexed aggregates, independent of the search)."""
    by_status = dict(s.execute(select(Case.status, func.count()).where(Case.status.in_((OPEN, CLAIMED, RESOLVED)))
                               .group_by(Case.status)).all())
    overdue = s.execute(select(func.count()).where(overdue_clause(now, settings))).scalar() or 0
    mine = s.execute(select(func.count()).where(_mine_clause(actor))).scalar() or 0
    return {"open": by_status.get(OPEN, 0) + by_status.get(CLAIMED, 0), "mine": mine,
            "unclaimed": by_status.get(OPEN, 0), "overdue": overdue, "done": by_status.get(RESOLVED, 0)}


def _search(s: Any, where: list[Any], order: tuple[Any, ...], q: str) -> tuple[list[int], bool]:
    """Ids (in queue order) of the case numbered `q` ("12", "#12"), or of the cases whose masked text contains it."""
    number = _CASE_NUMBER.fullmatch(q)
    if number:
        return list(s.execute(select(Case.id).where(*where, Case.id == int(number.group(1)))).scalars()), False
    head = func.substr(Case.message, 1, SEARCH_CHARS + PREVIEW_MARGIN)
    rows = s.execute(select(Case.id, head.label("head")).where(*where, head.contains(q, autoescape=True))
                     .order_by(*order).limit(SEARCH_SCAN + 1)).all()
    wanted = q.casefold()
    ids = [r.id for r in rows[:SEARCH_SCAN]
           if wanted in masked((r.head or "")[:SEARCH_CHARS + PREVIEW_MARGIN], SEARCH_CHARS).casefold()]
    return ids, len(rows) > SEARCH_SCAN


def load_queue(engine: Engine, filters: QueueFilters, actor: Actor, now: datetime,
               settings: DeskSettings) -> QueuePage:
    """One page of the queue for `actor` at `now`."""
    where = [_view_clause(filters.view, actor, now, settings)]
    if filters.urgency:
        where.append(Case.urgency == filters.urgency)
    if filters.channel:
        where.append(Case.channel == filters.channel)
    order = _order(filters.view)
    head = func.substr(Case.message, 1, PREVIEW + PREVIEW_MARGIN).label("head")
    columns = (Case.id, Case.urgency, Case.status, Case.claimed_by, Case.channel, Case.created_at, Case.claimed_at,
               Case.resolved_at, Case.province, head)
    truncated = False
    with session_factory(engine)() as s:
        counts = view_counts(s, actor, now, settings)
        if filters.q:
            ids, truncated = _search(s, where, order, filters.q)
            total = len(ids)
            pages = max(1, math.ceil(total / PAGE_SIZE))
            page = min(filters.page, pages)
            chosen = ids[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
            rows = s.execute(select(*columns).where(Case.id.in_(chosen)).order_by(*order)).all() if chosen else []
        else:
            total = s.execute(select(func.count()).select_from(Case).where(*where)).scalar() or 0
            pages = max(1, math.ceil(total / PAGE_SIZE))
            page = min(filters.page, pages)
            rows = s.execute(select(*columns).where(*where).order_by(*order)
                             .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    unclaimed = [r.id for r in rows if r.status == OPEN]
    rounds = returned_to_queue(engine, unclaimed) if unclaimed else {}
    out = [QueueRow(r.id, r.urgency, r.status, r.claimed_by, r.channel, aware(r.created_at),
                    aware(r.claimed_at) if r.claimed_at else None, aware(r.resolved_at) if r.resolved_at else None,
                    r.province, masked((r.head or "")[:PREVIEW + PREVIEW_MARGIN], PREVIEW),
                    deadline_for(rounds[r.id][1] if r.id in rounds else r.created_at, r.urgency, now, settings)
                    if r.status == OPEN else None)
           for r in rows]
    shown = (filters, total, page, pages, truncated, sorted(counts.items()),
             [(r.id, r.status, r.urgency, r.claimed_by, r.preview, r.deadline.level if r.deadline else None)
              for r in out])
    version = hashlib.sha256(repr(shown).encode()).hexdigest()[:16]
    return QueuePage(out, total, page, pages, counts, now, truncated, version)


def duration_text(delta: timedelta) -> str:
    """A wait in the counselors' words: "dưới 1 phút", "12 phút", "2 giờ 5 phút", "3 ngày 4 giờ"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "dưới 1 phút"
    if minutes < 60:
        return f"{minutes} phút"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    days, hours = divmod(hours, 24)
    return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"


def clock_text(delta: timedelta) -> str:
    """A countdown: "4:05", "1:02:00" (never negative)."""
    seconds = max(int(math.ceil(delta.total_seconds())), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def deadline_text(d: Deadline, now: datetime) -> str:
    """The re-escalation line of an unclaimed case (desk.js keeps it counting)."""
    if not d.overdue:
        return f"Nhắc lại sau {clock_text(d.first_at - now)}"
    text = f"Quá hạn {duration_text(now - d.first_at)}"
    return text + (f" · nhắc lại sau {clock_text(d.next_at - now)}" if d.next_at else " · đã báo giám sát")


def duty_text(duty: Availability, now: datetime) -> str:
    """Who reads the residents' messages now, in one line for the queue's header."""
    people = ", ".join(d.name for d in duty.on_duty)
    parts = [f"Đang trực: {people}" if people else "Chưa có tư vấn viên nào trong lịch trực lúc này"]
    if duty.supervisor:
        parts.append(f"Giám sát: {duty.supervisor.name}")
    if not duty.open_now:
        parts.append(f"Ngoài giờ trực, người tiếp theo đọc tin lúc {when_phrase(duty.next_read_at, now)}"
                     if duty.next_read_at else "Ngoài giờ trực")
    return " · ".join(parts)


def epoch_ms(at: datetime | None) -> int | None:
    """Milliseconds since the epoch (what desk.js counts with)."""
    return int(aware(at).timestamp() * 1000) if at else None


async def _render(request: web.Request, template: str) -> web.Response:
    user = current_user(request)
    assert user is not None
    filters = parse_filters(request.query)
    engine, settings = request.app[keys.STORE].engine, request.app[keys.SETTINGS]
    now = request.app[keys.CLOCK].now()

    def run() -> web.Response:
        queue = load_queue(engine, filters, actor_for(user), now, settings)
        duty = duty_text(availability(engine, now), now)
        queue = replace(queue, version=hashlib.sha256(f"{queue.version}|{duty}".encode()).hexdigest()[:16])
        return render(request, template, queue=queue, filters=filters, views=VIEWS, urgencies=URGENCIES,
                      channels=CHANNELS, duration_text=duration_text, deadline_text=deadline_text,
                      epoch_ms=epoch_ms, page_size=PAGE_SIZE, search_scan=SEARCH_SCAN, duty=duty)
    return await asyncio.to_thread(run)


@require_role("counselor")
async def queue_page(request: web.Request) -> web.Response:
    """GET /cases: the queue with its views, search and pages; it refreshes itself every few seconds."""
    return await _render(request, "cases.html")


@require_role("counselor")
async def queue_rows(request: web.Request) -> web.Response:
    """GET /cases/rows: the live part of the queue only (fetched by the page)."""
    return await _render(request, "_case_rows.html")


def setup_queue(app: web.Application) -> None:
    """Mount the queue."""
    app.router.add_get("/cases", queue_page)
    app.router.add_get("/cases/rows", queue_rows)
