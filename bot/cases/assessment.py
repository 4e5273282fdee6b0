"""The counselor's first assessment of a case: a short danger checklist, the priority it gives, and its record.

The items are adapted from the Danger Assessment (Jacquelyn C. Campbell, Johns Hopkins University School of
Nursing, revised 2003) and the Lethality Screen of the Maryland Lethality Assessment Program, which is built
on it: a weapon, threats to kill and strangulation are the strongest signs of lethal danger there, so any of
them makes a case high priority. It is a help for ordering the queue, not a score of the DA (which has 20
weighted items and a calendar), and only a counselor fills it in, never the bot.

Saving is idempotent: the same ticks saved again (a double submit) add nothing. Each new assessment is a
row of `case_assessments`, an `assessed` event in the history, and the case's `priority`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cases.models import Case, CaseAssessment, CaseEvent
from bot.db.engine import session_factory

ITEMS: dict[str, str] = {
    "danger_now": "Người dân đang gặp nguy hiểm ngay lúc này (người gây bạo lực ở gần, đang đe dọa hoặc tấn công)",
    "children": "Có trẻ em bị bạo lực hoặc đang ở trong vòng nguy hiểm",
    "weapon": "Người gây bạo lực có, đã dùng hoặc dọa dùng vũ khí, hung khí (dao, súng…)",
    "threats_to_kill": "Người gây bạo lực từng dọa giết người dân hoặc con của họ",
    "escalation": "Bạo lực gần đây xảy ra thường xuyên hơn hoặc nặng hơn",
    "strangulation": "Người gây bạo lực từng bóp cổ, bịt miệng hoặc làm người dân ngạt thở",
    "shelter": "Người dân cần chỗ tạm lánh an toàn",
}
SEVERE = frozenset({"weapon", "threats_to_kill", "strangulation"})
PRIORITY_LABELS = {0: "Chưa đánh giá / thấp", 1: "Trung bình", 2: "Cao", 3: "Rất cao (nguy hiểm ngay)"}
SOURCE = ("Phỏng theo Danger Assessment (J. C. Campbell, Đại học Johns Hopkins, bản 2003) và Lethality Screen "
          "(Chương trình đánh giá nguy cơ gây chết người Maryland, Hoa Kỳ); đã rút gọn và diễn đạt lại.")


def priority_of(items: Iterable[str]) -> int:
    """3: danger now; 2: a weapon, threats to kill, strangulation, or three signs together; 1: any sign; else 0."""
    ticked = set(items) & set(ITEMS)
    if "danger_now" in ticked:
        return 3
    if ticked & SEVERE or len(ticked) >= 3:
        return 2
    return 1 if ticked else 0


def describe(items: Iterable[str]) -> str:
    """The history line of an assessment: its priority and the signs ticked, in checklist order."""
    ticked = [code for code in ITEMS if code in set(items)]
    signs = "; ".join(ITEMS[c] for c in ticked) if ticked else "không có dấu hiệu nào được đánh dấu"
    return f"Mức ưu tiên: {PRIORITY_LABELS[priority_of(ticked)]}. Dấu hiệu: {signs}"


def latest(engine: Engine, case_id: int) -> CaseAssessment | None:
    """The newest assessment of a case, or None."""
    with session_factory(engine)() as s:
        return s.execute(select(CaseAssessment).where(CaseAssessment.case_id == case_id)
                         .order_by(CaseAssessment.id.desc()).limit(1)).scalar_one_or_none()


def ticked_items(assessment: CaseAssessment | None) -> set[str]:
    """The item codes of an assessment (none: empty)."""
    return {c for c in (assessment.items if assessment else "").split("; ") if c}


def save_assessment(engine: Engine, case_id: int, actor: str, items: Iterable[str], now: datetime) -> int | None:
    """Record an assessment and set the case's priority; returns the priority, or None when there is no such case."""
    ticked = [code for code in ITEMS if code in set(items)]
    priority = priority_of(ticked)
    with session_factory(engine).begin() as s:
        case = s.get(Case, case_id)
        if case is None:
            return None
        last = s.execute(select(CaseAssessment).where(CaseAssessment.case_id == case_id)
                         .order_by(CaseAssessment.id.desc()).limit(1)).scalar_one_or_none()
        if last is not None and ticked_items(last) == set(ticked):
            return priority
        s.add(CaseAssessment(case_id=case_id, at=now, actor=actor, items="; ".join(ticked), priority=priority))
        s.add(CaseEvent(case_id=case_id, kind="assessed", actor=actor, detail=describe(ticked), at=now))
        case.priority, case.updated_at = priority, now
    return priority
