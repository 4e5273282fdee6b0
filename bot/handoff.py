"""Who owns a conversation: the bot, or a counselor who claimed the resident's case."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cases import CLAIMED, Case, CaseStore
from bot.db import session_factory


def human_owner(engine: Engine, sender_id: str) -> int | None:
    """The id of the claimed case whose counselor owns this conversation, else None (the bot answers)."""
    with session_factory(engine)() as s:
        return s.execute(select(Case.id).where(Case.sender_id == sender_id, Case.status == CLAIMED)
                         .order_by(Case.id.desc()).limit(1)).scalar_one_or_none()


def forward_resident_message(engine: Engine, case_id: int, text: str) -> None:
    """Record a resident's message on the case while a counselor owns the conversation."""
    CaseStore(engine).add_event(case_id, "resident_message", actor="resident", detail=text)
