"""The reconcilers are backstops: a case already has its card row; only a case without one gets it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.cases.models import Case
from bot.db.engine import session_factory
from bot.desk.reconcilers import Reconcilers
from bot.desk.settings import DeskSettings
from bot.outbox.models import OutboxItem
from bot.timeutil import SystemClock, utcnow
from tests.desk.helpers import open_case

pytestmark = pytest.mark.asyncio


def card_keys(engine) -> list[str]:
    """Keys of the card rows, in order."""
    with session_factory(engine)() as s:
        return list(s.execute(select(OutboxItem.dedup_key).where(OutboxItem.kind == "tg_card")
                              .order_by(OutboxItem.id)).scalars())


def legacy_case(engine) -> int:
    """A case written without its card row (by a process older than the card-with-the-case change)."""
    now = utcnow()
    with session_factory(engine).begin() as s:
        case = Case(channel="zalo", sender_id="zalo:old", urgency="danger_now", status="open", created_at=now,
                    updated_at=now, message="cứu", reasons="kêu cứu")
        s.add(case)
        s.flush()
        return int(case.id)


async def test_only_cases_without_a_card_row_get_one_and_only_once(engine) -> None:
    woken: list[int] = []
    settings = DeskSettings(session_secret="x" * 16, telegram_token="1:t", counselor_chat_id="-1")
    reconcilers = Reconcilers(engine, SystemClock(), settings, on_enqueue=lambda: woken.append(1))
    queued = open_case(engine)
    assert card_keys(engine) == [f"card:{queued}"]  # written with the case
    assert reconcilers.announce_new_cases() == 0 and woken == []
    old = legacy_case(engine)
    assert reconcilers.announce_new_cases() == 1 and woken == [1]
    assert reconcilers.announce_new_cases() == 0
    assert card_keys(engine) == [f"card:{queued}", f"card:{old}"]


async def test_without_telegram_nothing_is_queued(engine) -> None:
    reconcilers = Reconcilers(engine, SystemClock(), DeskSettings(session_secret="x" * 16))
    legacy_case(engine)
    assert reconcilers.announce_new_cases() == 0 and reconcilers.forward_events() == 0
    assert card_keys(engine) == []
