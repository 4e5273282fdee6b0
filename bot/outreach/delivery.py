"""The outbox handler of broadcasts: one message per recipient, re-checked at send time, at most once.

What it guarantees:
- just before sending, in this order, a recipient is skipped (recipient row updated, then outbox `Skip`) when the
  broadcast was cancelled, she asked for deletion, unsubscribed, has an open case (no counselor allowed it), the
  broadcast ended, or the platform's messaging window is closed; in quiet hours (Vietnam time) the row waits
  (`RetryLater` until they end), or is skipped `quiet_hours` when the broadcast or the window would end first;
- AT MOST ONCE: the recipient is marked `sending` (committed) right before the platform call, after the pace
  wait, and `sent` in the transaction that marks the outbox row sent. A recipient found `sending` (a crash or kill -9 after the call
  began) is never resent: its outcome is unknown and a second message to a shared phone is worse than none, so it
  is marked failed `interrupted`. A send that failed in a way that may have reached the platform (timeouts, a
  dropped connection) is treated the same way; a refusal that certainly did not (429, Zalo -32, Graph rate
  limits and quotas, connection refused, 5xx) puts the recipient back to pending and waits as the platform asked;
- sends are paced per platform by a token bucket in this process (`SendLimits.rates`);
- nothing logged names a resident or holds text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.cases.models import RESOLVED, Case
from bot.db.engine import session_factory
from bot.outbox.dispatcher import Delivery
from bot.outbox.errors import GiveUp, RetryLater, Skip
from bot.outreach.limits import QUOTA_WAIT, SendLimits, quiet_until, window_open
from bot.outreach.models import (
    BROADCAST_KIND,
    CANCELLED,
    R_FAILED,
    R_PENDING,
    R_SENT,
    R_SKIPPED,
    SKIP_CANCELLED,
    SKIP_DELETED,
    SKIP_EXPIRED,
    SKIP_OPEN_CASE,
    SKIP_OUTSIDE_WINDOW,
    SKIP_QUIET_HOURS,
    SKIP_UNSUBSCRIBED,
    Broadcast,
    BroadcastRecipient,
    Subscription,
)
from bot.outreach.rendering import Rendered, button_labels, render_parts
from bot.outreach.views import INTERRUPTED, R_SENDING
from bot.privacy import DeletionRequest
from bot.senders import parse_sender
from bot.sending.sender import Sender
from bot.timeutil import Clock, aware

# Refusals that certainly did not deliver anything: safe to try again later.
NOT_SENT = frozenset({"http 429", "telegram:429", "zalo:-32", "ClientConnectorError", "telegram:NetworkError",
                      "messenger:1", "messenger:2", "messenger:1200"})
# Graph API rate limits and quotas (application, user, page, calls): wait long, never drop.
QUOTA = frozenset({"messenger:4", "messenger:17", "messenger:32", "messenger:613"})
# Refusals meaning the platform's window is closed (Zalo -230/-232, Graph 10/2018278): skipped, not failed.
WINDOW_CLOSED = frozenset({"zalo:-230", "zalo:-232", "messenger:10/2018278"})


def certainly_not_sent(reason: str) -> bool:
    """True when a send's failure proves the platform did not take the message."""
    return reason in NOT_SENT or reason in QUOTA or reason.startswith("http 5")


class RateGate:
    """A token bucket of one token: sends start at most `rate` per second, evenly spaced."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        """`rate` messages per second."""
        self.rate, self._clock = rate, clock
        self.capacity = 1.0  # no bursts: at most `rate` + 1 sends in any one-second window
        self._tokens, self._at = self.capacity, clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one send may start."""
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)


@dataclass(frozen=True)
class _Go:
    """The recipient may be sent now: what to send."""

    channel: str
    rendered: Rendered


@dataclass(frozen=True)
class _Wait:
    """Quiet hours: try again after this many seconds."""

    seconds: float


class BroadcastDelivery:
    """The `broadcast` outbox kind: checks, paces and sends one recipient's message."""

    def __init__(self, engine: Engine, clock: Clock, senders: Mapping[str, Sender], limits: SendLimits, *,
                 quota_wait: float = QUOTA_WAIT) -> None:
        """`senders`: the platform senders by channel (bot.sending), called once per message, without retries."""
        self.Session = session_factory(engine)
        self.clock, self.senders, self.limits, self.quota_wait = clock, senders, limits, quota_wait
        self.gates = {channel: RateGate(rate) for channel, rate in limits.rates.items()}
        self._rendered: dict[tuple[int, str], Rendered] = {}

    def handlers(self) -> dict[str, Callable]:
        """The dispatcher's handler map for broadcasts."""
        return {BROADCAST_KIND: self.deliver}

    async def deliver(self, item: Delivery) -> Callable[[Session], None]:
        """Check and mark sending, wait for the platform's pace, send; the returned function marks the recipient sent."""
        broadcast_id, sender_id = int(item.payload["broadcast_id"]), str(item.payload["sender_id"])
        parsed = parse_sender(sender_id)
        sender = self.senders.get(parsed[0]) if parsed else None
        if parsed is None or sender is None:
            raise GiveUp("channel not configured")  # on_dead marks the recipient failed
        decision = await asyncio.to_thread(self._check, broadcast_id, sender_id)
        if isinstance(decision, str):
            raise Skip(decision)
        if isinstance(decision, _Wait):
            raise RetryLater("quiet hours", decision.seconds)
        gate = self.gates.get(decision.channel)
        if gate is not None:
            await gate.acquire()
        # `sending` is committed only now, right before the call, so a crash while waiting for the pace loses
        # nothing; a cancel that came meanwhile moved the recipient off `pending` and wins.
        if not await asyncio.to_thread(self._mark, broadcast_id, sender_id, R_PENDING, R_SENDING, None):
            raise Skip("changed before sending")
        rendered = decision.rendered
        buttons = rendered.button_dicts() if decision.channel != "zalo" else None
        try:
            await sender.send_part(parsed[1], rendered.text, buttons or None, False, {})
        except RetryLater as exc:
            if not certainly_not_sent(exc.reason):
                await asyncio.to_thread(self._mark, broadcast_id, sender_id, R_SENDING, R_FAILED, INTERRUPTED)
                raise Skip(f"outcome unknown ({exc.reason})") from exc
            await asyncio.to_thread(self._mark, broadcast_id, sender_id, R_SENDING, R_PENDING, None)
            wait = self.quota_wait if exc.reason in QUOTA else exc.after
            raise RetryLater(exc.reason, wait) from exc
        except GiveUp as exc:
            if exc.reason in WINDOW_CLOSED:
                await asyncio.to_thread(self._mark, broadcast_id, sender_id, R_SENDING, R_SKIPPED,
                                        SKIP_OUTSIDE_WINDOW)
                raise Skip(SKIP_OUTSIDE_WINDOW) from exc
            raise  # on_dead marks the recipient failed with the code
        except Exception as exc:  # a sender bug: the call may have gone out, so never again
            await asyncio.to_thread(self._mark, broadcast_id, sender_id, R_SENDING, R_FAILED, INTERRUPTED)
            raise Skip("outcome unknown (internal error)") from exc
        done_at = self.clock.now()

        def mark_sent(s: Session) -> None:
            s.execute(update(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id,
                                                       BroadcastRecipient.sender_id == sender_id)
                      .values(status=R_SENT, reason=None, at=done_at))
        return mark_sent

    def on_dead(self, s: Session, item: Delivery, reason: str) -> None:
        """The dispatcher's `on_dead` for broadcasts: the recipient failed for good, with the error code."""
        if item.kind != BROADCAST_KIND:
            return
        s.execute(update(BroadcastRecipient)
                  .where(BroadcastRecipient.broadcast_id == int(item.payload.get("broadcast_id") or 0),
                         BroadcastRecipient.sender_id == str(item.payload.get("sender_id") or ""),
                         BroadcastRecipient.status.in_((R_PENDING, R_SENDING)))
                  .values(status=R_FAILED, reason=(reason or "unknown")[:40], at=self.clock.now()))

    def _mark(self, broadcast_id: int, sender_id: str, old: str, new: str, reason: str | None) -> bool:
        """Move a recipient from `old` to `new` (committed); False when it was no longer `old`."""
        with self.Session.begin() as s:
            return bool(s.execute(update(BroadcastRecipient)
                                  .where(BroadcastRecipient.broadcast_id == broadcast_id,
                                         BroadcastRecipient.sender_id == sender_id, BroadcastRecipient.status == old)
                                  .values(status=new, reason=reason, at=self.clock.now())).rowcount)

    def _check(self, broadcast_id: int, sender_id: str) -> str | _Wait | _Go:
        """The send-time checks, in order, in one transaction: a skip is recorded; a go changes nothing yet."""
        now = self.clock.now()
        with self.Session.begin() as s:
            rec = s.execute(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id,
                                                             BroadcastRecipient.sender_id == sender_id)).scalar()
            if rec is None:
                return "no recipient row"
            if rec.status == R_SENDING:  # a send began and its outcome was never recorded
                rec.status, rec.reason, rec.at = R_FAILED, INTERRUPTED, now
                return INTERRUPTED
            if rec.status != R_PENDING:
                return f"already {rec.status}"
            row = s.get(Broadcast, broadcast_id)
            outcome = self._outcome(s, row, rec, now)
            if isinstance(outcome, str):
                rec.status, rec.reason, rec.at = R_SKIPPED, outcome, now
            return outcome

    def _outcome(self, s: Session, row: Broadcast | None, rec: BroadcastRecipient, now: datetime) -> str | _Wait | _Go:
        if row is None or row.state == CANCELLED:
            return SKIP_CANCELLED
        sender_id = rec.sender_id
        if s.execute(select(DeletionRequest.id).where(DeletionRequest.sender_id == sender_id)).first():
            return SKIP_DELETED
        sub = s.execute(select(Subscription).where(Subscription.sender_id == sender_id)).scalar()
        if sub is None or not sub.active:
            return SKIP_UNSUBSCRIBED
        if not sub.case_override_by and s.execute(select(Case.id).where(Case.sender_id == sender_id,
                                                                          Case.status != RESOLVED)).first():
            return SKIP_OPEN_CASE
        end = aware(row.end_at)
        if end is not None and now >= end:
            return SKIP_EXPIRED
        hours = self.limits.windows.get(rec.channel)
        if not window_open(rec.channel, sub.last_inbound_at, now, hours):
            return SKIP_OUTSIDE_WINDOW
        until = quiet_until(row.quiet_hours, now)
        if until is not None:
            closes = aware(sub.last_inbound_at) + timedelta(hours=hours) if hours is not None else None
            if (end is not None and until >= end) or (closes is not None and closes <= until):
                return SKIP_QUIET_HOURS
            return _Wait(max(1.0, (until - now).total_seconds()))
        return _Go(rec.channel, self._render(row, rec.channel))

    def _render(self, row: Broadcast, channel: str) -> Rendered:
        key = (int(row.id), channel)
        if key not in self._rendered:
            self._rendered[key] = render_parts(row.text, button_labels(row.buttons), row.poll_question, row.province,
                                               channel)
        return self._rendered[key]
