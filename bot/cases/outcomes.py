"""What became of a case: the short list of outcomes a counselor picks when she resolves it, and their counts.

The codes are stored in `cases.outcome`; the labels are what counselors and staff read. `count_outcomes`
counts resolved cases by outcome for the campaign report: no names, no texts, and every count from 1 to 4
is shown as "<5", so that a small commune's numbers cannot point at a resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.cases.models import RESOLVED, Case
from bot.db.engine import session_factory

OUTCOMES: dict[str, str] = {
    "police_commune": "Chuyển công an xã / UBND xã",
    "health_station": "Chuyển trạm y tế",
    "shelter": "Chuyển nhà tạm lánh / địa chỉ tin cậy",
    "legal_aid": "Chuyển trợ giúp pháp lý",
    "school": "Chuyển nhà trường",
    "advised": "Đã tư vấn",
    "unreachable": "Không liên lạc được",
    "false_alarm": "Báo động nhầm",
}
NO_OUTCOME = "Chưa ghi kết quả"
SMALL = 5  # counts below this are shown as "<5"
MAX_NOTE = 500


def outcome_label(code: str | None) -> str:
    """The Vietnamese label of an outcome code (unknown or missing: "Chưa ghi kết quả")."""
    return OUTCOMES.get(code or "", NO_OUTCOME)


def shown(count: int) -> str:
    """A count as the report shows it: 0, "<5" for 1 to 4, else the number."""
    return "<5" if 0 < count < SMALL else str(count)


@dataclass(frozen=True)
class OutcomeCount:
    """One line of the report: an outcome, its label and its count as shown."""

    code: str | None
    label: str
    count: str


def count_outcomes(engine: Engine, start: datetime, end: datetime, province: str | None = None) -> list[OutcomeCount]:
    """Resolved cases with `start <= resolved_at < end` (optionally one province), by outcome, in list order."""
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)  # stored in UTC
    q = select(Case.outcome, func.count()).where(Case.status == RESOLVED, Case.resolved_at >= start,
                                                 Case.resolved_at < end)
    if province:
        q = q.where(Case.province == province)
    with session_factory(engine)() as s:
        counts = {code: n for code, n in s.execute(q.group_by(Case.outcome)).all()}
    unknown = sum(n for code, n in counts.items() if code not in OUTCOMES)
    lines = [OutcomeCount(code, label, shown(counts.get(code, 0))) for code, label in OUTCOMES.items()]
    return [*lines, OutcomeCount(None, NO_OUTCOME, shown(unknown))]
