"""The login brake: attempts per client address (hard) and per account (short, soft), counted in the database.

Guarantees: an attempt takes its place in both counters, or in neither, in one transaction BEFORE the
password is checked, so parallel requests cannot exceed a limit and a refused attempt costs no argon2
work; the counts survive a restart; a correct password gives its place back, so logging in never uses
up a quota. The per-account counter only holds back clients without a device cookie of that account
(`SessionManager` decides): a counselor's usual browser still logs in while her name is being sprayed
from elsewhere. Keys are stored as HMACs, never as addresses or usernames.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.engine import session_factory
from bot.desk.models import LoginLimit
from bot.desk.writes import with_retry
from bot.timeutil import Clock, aware

ADDRESS, ACCOUNT = "address", "account"


@dataclass(frozen=True)
class LoginLimits:
    """How many attempts a window allows, and how many password checks run at once."""

    address_max: int = 10
    address_window: timedelta = timedelta(minutes=15)
    account_max: int = 20
    account_window: timedelta = timedelta(minutes=5)
    concurrent_verifies: int = 2
    verify_queue: int = 32  # logins waiting for a password check beyond this are told "busy"


@dataclass(frozen=True)
class Refusal:
    """Why an attempt was refused before its password was checked, and for how many seconds."""

    scope: str
    retry_after: int


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxy: bool) -> str:
    """The address to count attempts by: the peer, or the entry our trusted proxy appended to X-Forwarded-For.

    IPv6 clients are grouped by /64 (one customer's network), IPv4-mapped addresses count as IPv4.
    """
    candidate = peer
    if trusted_proxy and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        if _parse(last) is not None:
            candidate = last
    ip = _parse(candidate)
    if ip is None:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _parse(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value or len(value) > 64:
        return None
    try:
        return ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None


class LoginLimiter:
    """Counts login attempts per address and per account in `desk_login_limits`."""

    def __init__(self, engine: Engine, clock: Clock, secret: bytes, limits: LoginLimits) -> None:
        """`secret` keys the HMACs the rows are stored under."""
        self.Session = session_factory(engine)
        self.clock = clock
        self.secret = secret
        self.limits = limits

    def _key(self, scope: str, value: str) -> str:
        return hmac.new(self.secret, f"login-limit:{scope}:{value}".encode(), hashlib.sha256).hexdigest()

    def _scopes(self, address: str, account: str | None) -> list[tuple[str, str, int, timedelta]]:
        scopes = [(ADDRESS, self._key(ADDRESS, address), self.limits.address_max, self.limits.address_window)]
        if account is not None:
            scopes.append((ACCOUNT, self._key(ACCOUNT, account), self.limits.account_max, self.limits.account_window))
        return scopes

    def reserve(self, address: str, account: str | None) -> Refusal | None:
        """Take a place for one attempt in both counters (`account` None: the address only); else the refusal."""
        def run() -> Refusal | None:
            now = self.clock.now()
            try:
                with self.Session.begin() as s:
                    for scope, key, limit, window in self._scopes(address, account):
                        wait = _take(s, scope, key, limit, window, now)
                        if wait is not None:
                            raise _Refused(Refusal(scope, max(1, math.ceil(wait))))
            except _Refused as refused:  # the transaction rolled back: neither counter moved
                return refused.refusal
            return None
        for attempt in range(5):
            try:
                return with_retry(run)
            except IntegrityError:  # two first attempts inserted the same row at once: count again
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def refund(self, address: str, account: str | None) -> None:
        """Give back the places of an attempt that succeeded (or never reached the password check)."""
        def run() -> None:
            with self.Session.begin() as s:
                for scope, key, _, _ in self._scopes(address, account):
                    s.execute(update(LoginLimit).where(LoginLimit.scope == scope, LoginLimit.key == key,
                                                       LoginLimit.count > 0)
                              .values(count=LoginLimit.count - 1).execution_options(synchronize_session=False))
        with_retry(run)


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.scope)
        self.refusal = refusal


def _take(s: Session, scope: str, key: str, limit: int, window: timedelta, now: datetime) -> float | None:
    """Count one attempt in a row, else the seconds until its window ends.

    The first statement is a write, so on SQLite the transaction holds the write lock from here on; on
    PostgreSQL every write is conditional on what it read, and a lost race counts again.
    """
    where = (LoginLimit.scope == scope, LoginLimit.key == key)
    for _ in range(3):
        counted = s.execute(update(LoginLimit).where(*where, LoginLimit.window_end > now, LoginLimit.count < limit)
                            .values(count=LoginLimit.count + 1).execution_options(synchronize_session=False))
        if counted.rowcount == 1:
            return None
        end = aware(s.execute(select(LoginLimit.window_end).where(*where)).scalar_one_or_none())
        if end is None:
            s.execute(delete(LoginLimit).where(LoginLimit.window_end <= now)
                      .execution_options(synchronize_session=False))
            s.add(LoginLimit(scope=scope, key=key, count=1, window_end=now + window))
            s.flush()  # a concurrent first insert raises IntegrityError: the caller counts again
            return None
        if end > now:
            return (end - now).total_seconds()
        restarted = s.execute(update(LoginLimit).where(*where, LoginLimit.window_end <= now)
                              .values(count=1, window_end=now + window).execution_options(synchronize_session=False))
        if restarted.rowcount == 1:
            return None
    return window.total_seconds()
