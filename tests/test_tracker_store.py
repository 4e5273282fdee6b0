"""The cached SQL tracker store: served from memory only while a fresh load would give the same tracker.

Each test runs on SQLite and on a real PostgreSQL server (tests/servers.py), the two databases it supports.
"""

from __future__ import annotations

import secrets
import time

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import EventVerbosity
from sqlalchemy import create_engine, text

from bot.tracker_store import CachedSQLTrackerStore
from tests.servers import postgres  # noqa: F401  (the session's PostgreSQL server fixture)

SENDER = "telegram:4242"
DOMAIN = Domain.from_dict({"slots": {"province": {"type": "text", "mappings": [{"type": "custom"}]}}})


def state(tracker) -> dict:
    """What an action server and the policies see of a tracker."""
    return tracker.current_state(EventVerbosity.ALL)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_where(request, tmp_path):
    """Makes empty tracker databases of one kind: each call gives SQLTrackerStore's keyword arguments for one."""
    def make() -> dict:
        name = f"trackers_{secrets.token_hex(4)}"
        if request.param == "sqlite":
            return {"dialect": "sqlite", "db": str(tmp_path / f"{name}.db")}
        server = request.getfixturevalue("postgres")
        server.create_database(name)
        return {"dialect": "postgresql", "host": "127.0.0.1", "port": server.port, "username": "bot", "db": name}
    return make


@pytest.fixture
def where(new_where) -> dict:
    """How to reach one empty tracker database."""
    return new_where()


def url(where: dict) -> str:
    """The same database as a SQLAlchemy URL, for writing behind the stores' backs."""
    if where["dialect"] == "sqlite":
        return f"sqlite:///{where['db']}"
    return f"postgresql://bot@127.0.0.1:{where['port']}/{where['db']}"


@pytest.fixture
def store(where):
    tracker_store = CachedSQLTrackerStore(domain=DOMAIN, **where)
    yield tracker_store
    tracker_store.engine.dispose()


async def started(store, sender: str = SENDER):
    """A conversation with one session and one exchange, saved, then retrieved as the next turn would be."""
    tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
    now = time.time() - 60
    for i, event in enumerate([ActionExecuted("action_session_start"), SessionStarted(),
                               ActionExecuted("action_listen"), UserUttered("xin chào"), BotUttered("Chào bạn")]):
        event.timestamp = now + i
        tracker.update(event)
    await store.save(tracker)
    return await store.retrieve(sender)


async def turn(store, tracker, text_: str) -> None:
    """One more exchange, saved."""
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(text_))
    tracker.update(SlotSet("province", "Hà Nội"))
    tracker.update(BotUttered("Trả lời"))
    await store.save(tracker)


async def test_a_saved_turn_is_served_from_memory_and_equals_a_fresh_load(store, where) -> None:
    tracker = await started(store)
    await turn(store, tracker, "bạo lực gia đình là gì")
    again = await store.retrieve(SENDER)
    assert again is tracker
    fresh = await SQLTrackerStore(domain=DOMAIN, **where).retrieve(SENDER)
    assert state(again) == state(fresh)
    assert again.get_slot("province") == "Hà Nội"


async def test_a_lent_tracker_is_not_handed_to_a_second_reader(store) -> None:
    tracker = await started(store)
    await turn(store, tracker, "một")
    first = await store.retrieve(SENDER)
    second = await store.retrieve(SENDER)
    assert first is tracker and second is not first and state(second) == state(first)


async def test_another_replicas_turn_forces_a_load(store, where) -> None:
    tracker = await started(store)
    await turn(store, tracker, "một")
    other = CachedSQLTrackerStore(domain=DOMAIN, **where)
    theirs = await other.retrieve(SENDER)
    await turn(other, theirs, "hai, từ replica khác")
    mine = await store.retrieve(SENDER)
    assert mine is not tracker
    assert [e.text for e in mine.events if isinstance(e, UserUttered)][-1] == "hai, từ replica khác"


async def test_an_erasure_is_never_undone_from_memory(store, where) -> None:
    tracker = await started(store)
    await turn(store, tracker, "chồng tôi đánh tôi")
    with create_engine(url(where), future=True).begin() as conn:
        conn.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": SENDER})
    assert await store.retrieve(SENDER) is None


async def test_a_retention_pass_that_deletes_old_rows_forces_a_load(store, where) -> None:
    tracker = await started(store)
    await turn(store, tracker, "tin nhắn cũ")
    with create_engine(url(where), future=True).begin() as conn:
        conn.execute(text("DELETE FROM events WHERE sender_id = :s AND data LIKE '%tin nh%'"), {"s": SENDER})
    reloaded = await store.retrieve(SENDER)
    assert reloaded is not tracker
    assert "tin nhắn cũ" not in [e.text for e in reloaded.events if isinstance(e, UserUttered)]


async def test_a_turn_that_starts_a_session_is_loaded_again(store, where) -> None:
    tracker = await started(store)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    again = await store.retrieve(SENDER)
    assert again is not tracker
    fresh = await SQLTrackerStore(domain=DOMAIN, **where).retrieve(SENDER)
    assert state(again) == state(fresh)


async def test_a_tracker_changed_without_a_save_is_loaded_again(store) -> None:
    tracker = await started(store)
    await turn(store, tracker, "một")
    lent = await store.retrieve(SENDER)
    lent.update(UserUttered("không được lưu"))  # a turn that failed before its save
    await turn(store, await store.retrieve(SENDER), "hai")
    again = await store.retrieve(SENDER)
    assert "không được lưu" not in [e.text for e in again.events if isinstance(e, UserUttered)]


async def test_memory_is_bounded(where) -> None:
    store = CachedSQLTrackerStore(domain=DOMAIN, **where, cache_size=2)
    trackers = {}
    for sender in ("a", "b", "c"):
        trackers[sender] = await started(store, sender)
        await turn(store, trackers[sender], "x")
    assert await store.retrieve("a") is not trackers["a"]
    assert await store.retrieve("c") is trackers["c"]


async def test_sqlite_commits_with_normal_sync_and_keeps_its_connections(tmp_path) -> None:
    store = CachedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    await started(store)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


async def test_it_writes_the_rows_rasas_store_writes_even_when_two_writers_interleave(new_where) -> None:
    clock = {"now": 0.0}

    def at(event):
        clock["now"] += 1.0
        event.timestamp = clock["now"]
        return event

    async def exchange(store, tracker, words: str) -> None:
        for event in (ActionExecuted("action_listen"), UserUttered(words), SlotSet("province", words),
                      BotUttered(f"đáp {words}")):
            tracker.update(at(event))
        await store.save(tracker)

    async def scenario(store_class) -> list:
        clock["now"] = 1_000_000.0
        where = new_where()
        mine, theirs = store_class(domain=DOMAIN, **where), store_class(domain=DOMAIN, **where)
        tracker = await mine.get_or_create_tracker(SENDER, append_action_listen=False)
        for event in (ActionExecuted("action_session_start"), SessionStarted()):
            tracker.update(at(event))
        await exchange(mine, tracker, "một")
        stale = await mine.retrieve(SENDER)
        await exchange(theirs, await theirs.retrieve(SENDER), "hai")  # between my retrieve and my save
        await exchange(mine, stale, "ba")
        await exchange(mine, await mine.retrieve(SENDER), "bốn")
        await exchange(theirs, await theirs.retrieve(SENDER), "năm")
        fresh = await mine.retrieve(SENDER)
        fresh.update(at(ActionExecuted("action_session_start")))
        fresh.update(at(SessionStarted()))
        await exchange(mine, fresh, "sáu")
        await exchange(mine, await mine.retrieve(SENDER), "bảy")
        for store in (mine, theirs):
            store.engine.dispose()
        with create_engine(url(where)).connect() as conn:
            return conn.execute(text("SELECT type_name, timestamp, intent_name, action_name, data FROM events "
                                     "WHERE sender_id = :s ORDER BY id"), {"s": SENDER}).all()

    ours, rasas = await scenario(CachedSQLTrackerStore), await scenario(SQLTrackerStore)
    assert len(ours) > 20
    assert [tuple(row) for row in ours] == [tuple(row) for row in rasas]
