"""Rasa, seen from the desk: its HTTP API (with the auth token) and its SQL tracker store (read only)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.outbox.dispatcher import TIMEOUTS
from bot.outbox.errors import GiveUp, RetryLater
from bot.timeutil import UTC

log = logging.getLogger(__name__)


class RasaClient:
    """Appends events to Rasa conversations: pause, resume, and counselor messages as `bot` events."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str | None) -> None:
        """The session is owned by the caller."""
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token

    async def append_events(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """POST /conversations/<id>/tracker/events; raises RetryLater/GiveUp on failure."""
        if not self.token:
            raise RetryLater("RASA_AUTH_TOKEN is not set")
        url = f"{self.base_url}/conversations/{quote(sender_id, safe=':@-._~')}/tracker/events"
        try:
            async with self.http.post(url, params={"token": self.token, "include_events": "NONE"},
                                      json=events, timeout=aiohttp.ClientTimeout(total=15)) as resp:
                if resp.status == 200:
                    return
                if resp.status in (401, 403):
                    raise RetryLater(f"rasa refused the token ({resp.status})")
                if resp.status in (400, 404, 422):
                    raise GiveUp(f"rasa answered {resp.status}")
                raise RetryLater(f"rasa answered {resp.status}")
        except aiohttp.ClientError as exc:
            raise RetryLater(f"rasa unreachable: {type(exc).__name__}") from exc
        except TIMEOUTS as exc:
            raise RetryLater("rasa timed out") from exc


def bot_event(text_: str, case_id: int, source: str, at: datetime, key: str) -> dict[str, Any]:
    """A Rasa `bot` event carrying a counselor's (or the desk's) message; `key` makes re-delivery detectable."""
    return {"event": "bot", "text": text_, "timestamp": at.timestamp(),
            "metadata": {"handoff": source, "case_id": case_id, "desk_key": key}}


@dataclass(frozen=True)
class TranscriptLine:
    """One message of a conversation."""

    event_id: int
    at: datetime
    who: str  # resident | bot | counselor | desk
    text: str
    message_id: str | None = None  # Rasa's id of a resident's message


def tracker_engine(url: str | None) -> Engine | None:
    """A read-only engine on Rasa's tracker store (None when there is no URL)."""
    if not url:
        return None
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            path = str(Path(path).resolve())
            return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", future=True, hide_parameters=True,
                                 connect_args={"check_same_thread": False, "timeout": 5})
    return create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)


class TranscriptReader:
    """Reads user and bot messages of a conversation from Rasa's `events` table."""

    def __init__(self, engine: Engine | None) -> None:
        """The engine may be None (no tracker store configured)."""
        self.engine = engine

    def read(self, sender_id: str, after_id: int = 0, limit: int = 500) -> list[TranscriptLine]:
        """Messages of a conversation, oldest first (empty when the store is missing)."""
        if self.engine is None:
            return []
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT id, type_name, timestamp, data FROM events WHERE sender_id = :sid "
                    "AND type_name IN ('user', 'bot') AND id > :after ORDER BY id DESC LIMIT :lim"),
                    {"sid": sender_id, "after": after_id, "lim": limit}).all()
        except Exception:  # a missing or locked tracker store must not break the console
            log.warning("tracker store unreadable")
            return []
        lines = []
        for row in reversed(rows):
            try:
                data = json.loads(row.data or "{}")
            except ValueError:
                data = {}
            msg = data.get("text")
            if not msg:
                continue
            if row.type_name == "user":
                who = "resident"
            else:
                who = {"counselor": "counselor", "desk": "desk"}.get(
                    (data.get("metadata") or {}).get("handoff"), "bot")
            at = datetime.fromtimestamp(float(row.timestamp or 0), UTC)
            mid = data.get("message_id") if row.type_name == "user" else None
            lines.append(TranscriptLine(int(row.id), at, who, str(msg), str(mid) if mid else None))
        return lines

    def delivered_keys(self, sender_id: str, limit: int = 300) -> set[str] | None:
        """`desk_key`s of the desk's bot events already in the conversation (None: store unreadable)."""
        if self.engine is None:
            return None
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT data FROM events WHERE sender_id = :sid AND type_name = 'bot' "
                    "ORDER BY id DESC LIMIT :lim"), {"sid": sender_id, "lim": limit}).scalars().all()
        except Exception:  # cannot check: deliver (at least once)
            return None
        keys = set()
        for raw in rows:
            try:
                key = (json.loads(raw or "{}").get("metadata") or {}).get("desk_key")
            except ValueError:
                continue
            if key:
                keys.add(str(key))
        return keys
