"""Zalo OA access tokens: one refresh at a time across processes, the new pair saved before use.

The refresh token is single-use. A worker that needs a new access token takes a lease on the
token row with a compare-and-swap (`UPDATE … WHERE version = :seen AND lease is free`), calls the
OAuth server, and writes the new pair with `version + 1` before anyone uses it. Workers that lose
the race wait until the version changes and use the pair the winner saved. This works the same on
SQLite (one file shared by several processes) and PostgreSQL. Each write is one plain transaction:
the compare-and-swap on `version` is what guards the refresh, not a lock in the process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.sending.models import ZaloToken
from bot.sending.settings import ZaloSettings
from bot.timeutil import aware, utcnow

log = logging.getLogger(__name__)


class TokenError(Exception):
    """No usable access token: the refresh failed or timed out."""


@dataclass(frozen=True)
class TokenRow:
    """The stored pair as read."""

    access_token: str
    refresh_token: str
    expires_at: datetime | None
    version: int
    lease_owner: str | None
    lease_until: datetime | None


def read_tokens(engine: Engine, app_id: str) -> TokenRow | None:
    """The stored pair of an app, if any."""
    with engine.connect() as conn:
        row = conn.execute(select(ZaloToken.__table__).where(ZaloToken.app_id == app_id)).first()
    if row is None:
        return None
    return TokenRow(row.access_token, row.refresh_token, aware(row.expires_at), row.version, row.lease_owner,
                    aware(row.lease_until))


def seed_tokens(engine: Engine, app_id: str, access_token: str, refresh_token: str, *, force: bool = False) -> bool:
    """Store the first pair (from the environment) unless one is stored; `force` replaces it (re-authorised)."""
    now = utcnow()
    with engine.begin() as conn:
        exists = conn.execute(select(ZaloToken.version).where(ZaloToken.app_id == app_id)).first()
        if exists is not None:
            if not force:
                return False
            conn.execute(update(ZaloToken).where(ZaloToken.app_id == app_id).values(
                access_token=access_token, refresh_token=refresh_token, expires_at=None,
                version=ZaloToken.version + 1, lease_owner=None, lease_until=None, updated_at=now))
            return True
    try:
        with engine.begin() as conn:
            conn.execute(ZaloToken.__table__.insert().values(
                app_id=app_id, access_token=access_token, refresh_token=refresh_token, expires_at=None,
                version=1, updated_at=now))
    except IntegrityError:  # another worker seeded it first
        return False
    return True


def try_lease(engine: Engine, app_id: str, version: int, owner: str, lease: timedelta) -> bool:
    """Take the refresh lease if the pair is still `version` and nobody else holds a live lease."""
    now = utcnow()
    with engine.begin() as conn:
        taken = conn.execute(
            update(ZaloToken)
            .where(ZaloToken.app_id == app_id, ZaloToken.version == version,
                   (ZaloToken.lease_until.is_(None)) | (ZaloToken.lease_until < now)
                   | (ZaloToken.lease_owner == owner))
            .values(lease_owner=owner, lease_until=now + lease)).rowcount
    return taken == 1


def save_refreshed(engine: Engine, app_id: str, version: int, owner: str, access_token: str,
                   refresh_token: str, expires_at: datetime | None) -> bool:
    """Persist the new pair (version + 1) and release the lease; False if the row moved meanwhile."""
    values = {"access_token": access_token, "refresh_token": refresh_token, "expires_at": expires_at,
              "version": version + 1, "lease_owner": None, "lease_until": None, "updated_at": utcnow()}
    with engine.begin() as conn:
        done = conn.execute(update(ZaloToken).where(ZaloToken.app_id == app_id, ZaloToken.version == version)
                            .values(**values)).rowcount
        if done != 1:
            # Our lease expired and the row changed. The pair we hold is the newest the OAuth server
            # issued (our call consumed the previous refresh token), so it must not be lost.
            log.critical("Zalo token row changed during a refresh; storing the newly issued pair anyway")
            conn.execute(update(ZaloToken).where(ZaloToken.app_id == app_id)
                         .values(**{**values, "version": ZaloToken.version + 1}))
    return done == 1


def release_lease(engine: Engine, app_id: str, owner: str) -> None:
    """Give up the refresh lease (after a failed refresh)."""
    with engine.begin() as conn:
        conn.execute(update(ZaloToken).where(ZaloToken.app_id == app_id, ZaloToken.lease_owner == owner)
                     .values(lease_owner=None, lease_until=None))


class ZaloTokens:
    """The current access token, refreshed when it expires or Zalo answers -216."""

    def __init__(self, engine: Engine, http: aiohttp.ClientSession, settings: ZaloSettings, owner: str, *,
                 lease: float = 60.0, wait: float = 45.0, timeout: float = 10.0,
                 refresh_margin: timedelta = timedelta(minutes=10)) -> None:
        """Engine and HTTP session are passed in; `owner` names this worker in the lease.

        The lease owner is made unique per instance (pid + random suffix): processes sharing one
        `.env`, hence one CHANNEL_WORKER_ID, must still never hold the refresh lease together.
        """
        self.engine, self.http, self.settings = engine, http, settings
        self.owner = f"{owner[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease, self.wait, self.timeout, self.refresh_margin = timedelta(seconds=lease), wait, timeout, \
            refresh_margin
        self._lock = asyncio.Lock()
        self._seeded = False
        self._last: TokenRow | None = None

    async def _row(self) -> TokenRow:
        if not self._seeded:
            await asyncio.to_thread(seed_tokens, self.engine, self.settings.app_id, self.settings.access_token,
                                    self.settings.refresh_token)
            self._seeded = True
        row = await asyncio.to_thread(read_tokens, self.engine, self.settings.app_id)
        if row is None:
            raise TokenError("token row missing")
        self._last = row
        return row

    async def current(self) -> str:
        """The access token to use now (refreshed first when it is about to expire).

        If the database cannot be read, the last token seen (else the configured one) is used, so
        that replies, above all the hotline reply, do not depend on the database.
        """
        try:
            row = await self._row()
        except SQLAlchemyError:
            log.warning("Zalo token store unavailable; using the last known access token")
            return self._last.access_token if self._last else self.settings.access_token
        if row.expires_at is not None and row.expires_at - utcnow() < self.refresh_margin:
            try:
                return await self.refresh(row.access_token)
            except (TokenError, SQLAlchemyError):
                log.warning("Zalo token refresh before expiry failed; trying the current token")
        return row.access_token

    async def refresh(self, stale: str) -> str:
        """A token newer than `stale`: refreshed here, or by whichever worker won the lease."""
        async with self._lock:
            deadline = time.monotonic() + self.wait
            while True:
                try:
                    row = await self._row()
                except SQLAlchemyError as exc:
                    # Never spend the single-use refresh token when the new pair could not be saved.
                    raise TokenError("token store unavailable") from exc
                if row.access_token != stale:
                    return row.access_token  # someone else already refreshed
                if await asyncio.to_thread(try_lease, self.engine, self.settings.app_id, row.version, self.owner,
                                           self.lease):
                    return await self._refresh_with_lease(row)
                if time.monotonic() > deadline:
                    raise TokenError("timed out waiting for another worker's refresh")
                await asyncio.sleep(0.1 + random.random() * 0.2)

    async def _refresh_with_lease(self, row: TokenRow) -> str:
        try:
            access, refresh, expires_at = await self._call_oauth(row.refresh_token)
        except BaseException:
            await asyncio.to_thread(release_lease, self.engine, self.settings.app_id, self.owner)
            raise
        # Persist before use: a restart or another worker must see the new single-use refresh token.
        await asyncio.to_thread(save_refreshed, self.engine, self.settings.app_id, row.version, self.owner,
                                access, refresh, expires_at)
        log.info("Zalo access token refreshed")
        return access

    async def _call_oauth(self, refresh_token: str) -> tuple[str, str, datetime | None]:
        url = f"{self.settings.oauth_base_url}/v4/oa/access_token"
        headers = {"secret_key": self.settings.app_secret}
        form = {"refresh_token": refresh_token, "app_id": self.settings.app_id, "grant_type": "refresh_token"}
        last = "no attempt"
        for attempt in range(3):
            try:
                async with self.http.post(url, data=form, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                    status = resp.status
                    try:
                        body = await resp.json(content_type=None)
                    except ValueError:
                        body = None
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                # The refresh token may or may not have been consumed; retrying is the only way to know.
                last = type(exc).__name__
                await asyncio.sleep(0.2 * (2 ** attempt) + random.random() * 0.2)
                continue
            if status >= 500:
                last = f"http {status}"
                await asyncio.sleep(0.2 * (2 ** attempt) + random.random() * 0.2)
                continue
            if status == 200 and isinstance(body, dict) and body.get("access_token") and body.get("refresh_token"):
                try:
                    seconds = int(str(body.get("expires_in") or "0"))
                except ValueError:
                    seconds = 0
                expires = utcnow() + timedelta(seconds=seconds) if seconds > 0 else None
                return str(body["access_token"]), str(body["refresh_token"]), expires
            code = body.get("error") if isinstance(body, dict) else None
            log.critical("Zalo refused the token refresh (http %s, error %s): re-authorise the OA and "
                         "reseed the tokens (docs/channels.md)", status, code)
            raise TokenError(f"refresh refused: {code if code is not None else status}")
        log.critical("Zalo token refresh failed after retries (%s)", last)
        raise TokenError(f"refresh failed: {last}")

