"""Helpers of the broadcast tests: subscribers, staff accounts, a dispatcher over the broadcast handler and the fakes."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.db.engine import session_factory
from bot.desk.accounts import create_account
from bot.desk.models import Account
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.models import PENDING, OutboxItem
from bot.outreach.delivery import BroadcastDelivery
from bot.outreach.limits import SendLimits
from bot.outreach.models import BROADCAST_KIND, BroadcastRecipient, Subscription
from bot.sending.outbound import build_outbound
from bot.timeutil import UTC, VN_TZ, Clock
from tests.sending.helpers import fast_send_settings, platform_env

PASSWORD = "mat-khau-rat-dai-2026"
# 10:00 Vietnam time on a weekday of the Action Month: outside the default quiet hours.
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=VN_TZ).astimezone(UTC)


class RunningClock:
    """A clock that starts at a chosen moment and then runs with real time; `advance` jumps forward."""

    def __init__(self, start: datetime = MORNING) -> None:
        """Start at `start` (default: a weekday morning, Vietnam time)."""
        self._start, self._t0, self._offset = start, time.monotonic(), timedelta(0)

    def now(self) -> datetime:
        """The current time of this clock."""
        return self._start + self._offset + timedelta(seconds=time.monotonic() - self._t0)

    def advance(self, **delta: float) -> datetime:
        """Jump forward by a timedelta given as keywords."""
        self._offset += timedelta(**delta)
        return self.now()


def make_staff(engine: Engine, *, real: bool = False) -> None:
    """Two staff accounts, a supervisor and a counselor (rows without a usable password unless `real`)."""
    accounts = (("an", "staff"), ("binh", "staff"), ("chi", "supervisor"), ("dung", "counselor"))
    if real:
        for name, role in accounts:
            create_account(engine, name, PASSWORD, role)
        return
    with session_factory(engine).begin() as s:
        s.add_all([Account(username=name, display_name=name.title(), role=role, password_hash="!", active=True)
                   for name, role in accounts])


def add_sub(engine: Engine, sender_id: str, *, province: str | None = "Gia Lai", topics: str = "news",
            last_inbound_at: datetime | None = None, active: bool = True, override: str | None = None,
            now: datetime = MORNING) -> None:
    """Insert a subscription row directly (the columns are fixed); inbound one hour before `now` by default."""
    with session_factory(engine).begin() as s:
        s.add(Subscription(sender_id=sender_id, channel=sender_id.split(":", 1)[0], topics=topics, province=province,
                           consent_text="Tôi đồng ý nhận tin.", consented_at=now - timedelta(days=1), active=active,
                           last_inbound_at=last_inbound_at or now - timedelta(hours=1), case_override_by=override))


def recipients(engine: Engine, broadcast_id: int) -> dict[str, tuple[str, str | None]]:
    """sender id → (status, reason) of one broadcast's recipients."""
    with session_factory(engine)() as s:
        rows = s.execute(select(BroadcastRecipient.sender_id, BroadcastRecipient.status, BroadcastRecipient.reason)
                         .where(BroadcastRecipient.broadcast_id == broadcast_id)).all()
    return {r.sender_id: (r.status, r.reason) for r in rows}


def pending_rows(engine: Engine) -> int:
    """Broadcast outbox rows still pending."""
    with session_factory(engine)() as s:
        return int(s.execute(select(func.count()).select_from(OutboxItem)
                             .where(OutboxItem.kind == BROADCAST_KIND, OutboxItem.status == PENDING)).scalar_one())


def broadcast_dispatcher(engine: Engine, clock: Clock, http: aiohttp.ClientSession, *, zalo: Any = None,
                         graph: Any = None, telegram: Any = None, rates: dict[str, float] | None = None,
                         quota_wait: float = 2.0) -> tuple[Dispatcher, BroadcastDelivery]:
    """A dispatcher delivering broadcasts through the real senders, pointed at the fakes given."""
    outbound = build_outbound(http, engine, fast_send_settings(), platform_env(zalo, graph, telegram))
    limits = SendLimits({"telegram": 25.0, "messenger": 20.0, "zalo": 10.0, **(rates or {})},
                        {"messenger": 24.0, "zalo": 48.0, "telegram": None})
    delivery = BroadcastDelivery(engine, clock, outbound.senders, limits, quota_wait=quota_wait)
    dispatcher = Dispatcher(engine, clock, delivery.handlers(), max_backoff=5.0,
                            max_attempts={BROADCAST_KIND: 100}, on_dead=delivery.on_dead)
    return dispatcher, delivery


async def deliver_until_done(dispatcher: Dispatcher, engine: Engine, timeout: float = 20.0) -> float:
    """Run the dispatcher until no broadcast row is pending (retries included); returns the seconds it took."""
    started = time.monotonic()
    while pending_rows(engine):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{pending_rows(engine)} broadcast row(s) still pending after {timeout} s")
        await dispatcher.drain(timeout=timeout)
        await asyncio.sleep(0.05)
    return time.monotonic() - started
