"""Rasa's SQL tracker store without rebuilding the whole conversation from the database on every turn.

Guarantees: the same tables, rows and row order as `rasa.core.tracker_store.SQLTrackerStore` (the desk, erasure
and retention read and delete them directly); a tracker is served from memory only when a fresh load would give
the same one: this process saved it last, no session started in that turn, and the conversation's stored rows
(their count and highest id, read in one indexed query) are exactly those it saved, so another replica's turn,
an erasure or a retention pass (which delete rows) always forces a load from the database. A tracker from memory
is lent to one caller at a time (a second reader loads its own). On SQLite the file keeps a small pool of
connections and commits with `synchronous=NORMAL` in WAL mode (a crash of the process loses nothing; a power cut
may lose the last turns of history, never a resident's message: those are in the channel inbox).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event, text

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 1000
Stamp = tuple[int, int | None]  # (number of stored rows of the conversation, highest row id)


@dataclass
class _Kept:
    """A tracker held in memory and what the database held for it when it was saved."""

    tracker: DialogueStateTracker
    stamp: Stamp
    events: int


@dataclass
class _Lent:
    """A tracker handed to a caller: the stored rows it reflects and how many events it had then."""

    tracker: DialogueStateTracker
    stamp: Stamp
    events: int


class CachedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that keeps recently saved trackers in memory while the database agrees with them."""

    def __init__(self, *args: Any, cache_size: int | str = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lent: dict[str, _Lent] = {}
        self._cache_size = int(cache_size)
        table = self.SQLEvent.__table__
        # Plain statements built once: SQLAlchemy's per-execution cache-key walk of ORM queries cost more than the
        # queries themselves on SQLite.
        self._stamp_sql = text(f"SELECT count(id), max(id) FROM {table.name} WHERE sender_id = :sender_id")
        self._insert_sql = table.insert()
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_commit_settings)
            self.engine.dispose()  # connections opened while creating the tables lack the setting

    def _stamp(self, session: Any, sender_id: str) -> Stamp:
        row = session.execute(self._stamp_sql, {"sender_id": sender_id}).one()
        return int(row[0]), row[1]

    def _stored_since_session_start(self, session: Any, tracker: DialogueStateTracker, lent: _Lent | None) -> int:
        """How many of the tracker's events are stored: Rasa's count query, unless the rows are the lent ones."""
        if (lent is not None and lent.tracker is tracker and self.max_event_history is None
                and self._stamp(session, tracker.sender_id) == lent.stamp):
            # The rows are exactly those the tracker was lent with, and it was lent with all of them.
            return lent.events
        return self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the latest session: from memory when the stored rows are still the ones saved."""
        with self.session_scope() as session:
            stamp = self._stamp(session, sender_id)
        kept = self._kept.pop(sender_id, None)
        if kept is not None and kept.stamp == stamp and len(kept.tracker.events) == kept.events:
            tracker: DialogueStateTracker | None = kept.tracker
        else:
            # Rows written or deleted between the stamp and this load make the save's count check fail: not kept.
            tracker = await super().retrieve(sender_id)
        if tracker is not None:
            self._lent[sender_id] = _Lent(tracker, stamp, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save (only the events not stored yet), then keep the tracker if it matches what is stored."""
        lent = self._lent.pop(tracker.sender_id, None)
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = self._stored_since_session_start(session, tracker, lent)
            events = list(itertools.islice(tracker.events, stored, None))
            if events:
                session.execute(self._insert_sql, [_row(tracker.sender_id, e) for e in events])
            stamp = self._stamp(session, tracker.sender_id) if lent is not None else None
            session.commit()
        logger.debug("Tracker stored to database")
        if lent is None or stamp is None or lent.tracker is not tracker:
            return
        added = len(tracker.events) - lent.events
        same_rows = stamp[0] == lent.stamp[0] + added and len(events) == added and (
            stamp == lent.stamp if added == 0 else (stamp[1] or 0) > (lent.stamp[1] or 0))
        new_session = any(isinstance(e, SessionStarted)
                          for e in itertools.islice(tracker.events, lent.events, None))
        if same_rows and not new_session:
            self._keep(tracker.sender_id, _Kept(tracker, stamp, len(tracker.events)))

    def _keep(self, sender_id: str, kept: _Kept) -> None:
        self._kept[sender_id] = kept
        self._kept.move_to_end(sender_id)
        while len(self._kept) > self._cache_size:
            self._kept.popitem(last=False)

    def forget(self, sender_id: str | None = None) -> None:
        """Drop one conversation (or all) from memory."""
        if sender_id is None:
            self._kept.clear()
            self._lent.clear()
        else:
            self._kept.pop(sender_id, None)
            self._lent.pop(sender_id, None)


def _row(sender_id: str, event_: Any) -> dict[str, Any]:
    """The `events` row Rasa's SQLTrackerStore writes for one event."""
    data = event_.as_dict()
    return {"sender_id": sender_id, "type_name": event_.type_name, "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"), "data": json.dumps(data)}


def _sqlite_commit_settings(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
