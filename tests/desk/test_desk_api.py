"""The desk's case API: bearer token, newest first, sender filter, health (database, urgent deliveries)."""

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

import bot.cases.spool
from bot.cases.spool import drain_spool, spool_case
from bot.cases.store import CaseRequest, CaseStore
from bot.db.engine import session_factory
from bot.desk import keys
from bot.desk.app import create_app
from bot.desk.health import delivery_health
from bot.outbox.enqueue import enqueue
from bot.outbox.failures import record_failure
from bot.outbox.models import OutboxItem
from bot.timeutil import ManualClock, utcnow
from tests.desk.helpers import desk_runtime

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _open(store: CaseStore, sender: str, mid: str) -> int:
    case, _ = store.open_case(CaseRequest("zalo", sender, "danger_now", "cứu", ("kêu cứu",), None, mid))
    return case.id


async def test_requires_bearer_token(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    assert (await client.get("/api/cases")).status == 401
    bad = await client.get("/api/cases", headers={"Authorization": "Bearer wrong"})
    assert bad.status == 401


async def test_lists_newest_first_and_filters(aiohttp_client, engine, store: CaseStore) -> None:
    first = _open(store, "zalo:1", "a")
    second = _open(store, "zalo:2", "b")
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = await (await client.get("/api/cases", headers=auth)).json()
    assert [c["id"] for c in body] == [second, first]
    only = await (await client.get("/api/cases", params={"sender_id": "zalo:1"}, headers=auth)).json()
    assert [c["id"] for c in only] == [first]
    assert (await client.get("/api/cases", params={"status": "nope"}, headers=auth)).status == 400
    detail = await (await client.get(f"/api/cases/{first}", headers=auth)).json()
    assert detail["events"][0]["kind"] == "created"


async def test_health_reports_database(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    resp = await client.get("/health", headers=AUTH)
    body = await resp.json()
    assert resp.status == 200 and body["database"] == "ok" and body["urgent_deliveries"] == "ok"


async def test_health_fails_while_an_urgent_reply_could_not_be_delivered(aiohttp_client, engine) -> None:
    clock = ManualClock()
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN, clock=clock))
    record_failure(engine, "zalo", "zalo:1", "zalo:-230", urgent=False, by_human=False)
    assert (await client.get("/health", headers=AUTH)).status == 200  # an ordinary reply that failed is not an alarm
    record_failure(engine, "zalo", "zalo:2", "zalo:-230", urgent=True, by_human=False)
    resp = await client.get("/health", headers=AUTH)
    body = await resp.json()
    assert resp.status == 503 and body["urgent_deliveries"] == "failing" and body["status"] == "degraded"
    assert body["urgent_delivery_failures"] == 1
    clock.advance(minutes=61)  # the window is the last hour
    resp = await client.get("/health", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["urgent_deliveries"] == "ok"


async def test_a_garbage_bearer_is_a_401_not_a_500(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    for header in ("Bearer tôi-là-token", "Bearer \u00e9\u00e9", "Basic xyz", "Bearer"):
        assert (await client.get("/api/cases", headers={"Authorization": header})).status == 401
    assert (await client.get("/api/cases", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200


async def _raw_get(client, path: str, header: bytes) -> bytes:
    """GET `path` with a raw Authorization header (bytes as a client like `requests` sends them: latin-1)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
                 + header + b"\r\n\r\n")
    await writer.drain()
    status = await reader.readline()
    writer.close()
    return status


async def test_a_bearer_that_is_not_utf8_is_a_401_not_a_500(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    for path in ("/api/cases", "/health"):
        for header in (b"Bearer \xe9", b"Bearer \xff\xfe" + TOKEN.encode(), b"Bearer \xed\xa0\x80"):
            assert (await _raw_get(client, path, header)).split()[1] == b"401", (path, header)


@pytest.fixture
def spool_file(tmp_path: Path, monkeypatch) -> Path:
    """The spool the desk looks at, in a temporary directory."""
    path = tmp_path / "spool" / "cases.jsonl"
    monkeypatch.setattr(bot.cases.spool, "spool_path", lambda: path)
    return path


async def test_public_health_says_only_ok_or_degraded(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    resp = await client.get("/health")
    assert resp.status == 200 and await resp.json() == {"status": "ok"}
    record_failure(engine, "zalo", "zalo:2", "zalo:-230", urgent=True, by_human=False)
    resp = await client.get("/health")
    assert resp.status == 503 and await resp.json() == {"status": "degraded"}
    detailed = await (await client.get("/health", headers=AUTH)).json()
    assert detailed["urgent_deliveries"] == "failing" and "notifications_pending" in detailed


async def test_health_with_a_wrong_or_garbage_bearer_is_a_401(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    for header in ("Bearer wrong", "Bearer tôi-là-token", "Bearer \u00e9\u00e9", "Basic xyz", "Bearer"):
        resp = await client.get("/health", headers={"Authorization": header})
        assert resp.status == 401 and "database" not in await resp.text()


async def test_health_fails_while_a_spooled_case_waits(aiohttp_client, engine, spool_file: Path) -> None:
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    assert (await client.get("/health", headers=AUTH)).status == 200
    spool_case(CaseRequest("zalo", "zalo:9", "danger_now", "cứu", ("kêu cứu",)), spool_file)
    resp = await client.get("/health", headers=AUTH)
    assert resp.status == 503 and (await resp.json())["spool"] == "failing"
    assert (await (await client.get("/health")).json()) == {"status": "degraded"}
    spool_file.rename(spool_file.with_suffix(".draining"))  # a drain that stopped half-way
    assert (await (await client.get("/health", headers=AUTH)).json())["spool"] == "failing"
    drain_spool(CaseStore(engine), spool_file)
    resp = await client.get("/health", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["spool"] == "ok"
    spool_file.with_suffix(".bad").write_bytes(b"{torn\n")
    assert (await client.get("/health", headers=AUTH)).status == 503


def test_transcript_is_failing_while_a_pending_rasa_write_has_failed(engine) -> None:
    with session_factory(engine).begin() as s:
        enqueue(s, key="rasa-1", kind="rasa_events", lane="rasa:zalo:1", payload={}, now=utcnow())
    health = delivery_health(engine, telegram_enabled=False, updates_state=None, now=utcnow())
    assert health["transcript"] == "ok" and health["transcript_pending"] == 1
    with session_factory(engine).begin() as s:
        s.execute(update(OutboxItem).where(OutboxItem.dedup_key == "rasa-1").values(attempts=2))
    health = delivery_health(engine, telegram_enabled=False, updates_state=None, now=utcnow())
    assert health["transcript"] == "failing" and health["handoff"] == "ok"


async def test_health_fails_while_a_transcript_write_to_rasa_keeps_failing(aiohttp_client, engine) -> None:
    with session_factory(engine).begin() as s:  # a row in back-off after failed attempts
        enqueue(s, key="rasa-1", kind="rasa_events", lane="rasa:zalo:1", payload={}, now=utcnow())
        s.flush()
        s.execute(update(OutboxItem).where(OutboxItem.dedup_key == "rasa-1")
                  .values(attempts=3, next_attempt_at=utcnow() + timedelta(hours=1)))
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    resp = await client.get("/health", headers=AUTH)
    body = await resp.json()
    assert resp.status == 503 and body["transcript"] == "failing", repr(body)
    assert await (await client.get("/health")).json() == {"status": "degraded"}


class _FailingUpdates:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def process_update(self, data: dict) -> None:
        raise self.exc

    def prune_seen_updates(self) -> None:
        """Housekeeping the desk's jobs call; nothing to prune here."""

    def register_webhook_forever(self):
        return asyncio.sleep(3600)

    poll_forever = register_webhook_forever

    async def shutdown(self) -> None:
        """Nothing to close."""


@pytest.mark.parametrize("exc, status", [(OperationalError("UPDATE", {}, Exception("database is locked")), 503),
                                         (KeyError("message"), 200)])
async def test_telegram_webhook_asks_for_redelivery_only_when_the_database_failed(aiohttp_client, engine, exc,
                                                                                  status, caplog) -> None:
    app = create_app(desk_runtime(engine), TOKEN)
    app[keys.TELEGRAM] = _FailingUpdates(exc)
    client = await aiohttp_client(app)
    secret = app[keys.SETTINGS].effective_webhook_secret
    resp = await client.post("/telegram/webhook", json={"update_id": 1, "message": {"text": "bí mật 0912345678"}},
                             headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert resp.status == status
    assert "0912345678" not in caplog.text and "bí mật" not in caplog.text


HUGE_ID = "99999999999999999999999"  # over SQLite's 2**63 - 1: the driver raised OverflowError (a 500)


async def test_an_id_too_large_for_the_database_is_a_404_or_a_400_not_a_500(aiohttp_client, engine,
                                                                           store: CaseStore) -> None:
    case_id = _open(store, "zalo:1", "a")
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    for path in (f"/api/cases/{HUGE_ID}", f"/api/cases/{2**63}", "/api/cases/0", "/api/cases/-1", "/api/cases/²"):
        assert (await client.get(path, headers=AUTH)).status == 404, path
    assert (await client.get(f"/api/cases/{2**63 - 1}", headers=AUTH)).status == 404
    assert (await client.get(f"/api/cases/{case_id}", headers=AUTH)).status == 200
    messages = "/api/conversations/zalo:1/messages"
    for after in (HUGE_ID, str(2**63), "-1", "x"):
        resp = await client.get(messages, params={"after": after}, headers=AUTH)
        assert resp.status == 400 and "after" in (await resp.json())["error"], after
    for after in ("0", str(2**63 - 1)):
        assert (await client.get(messages, params={"after": after}, headers=AUTH)).status == 200, after


class _RecordingUpdates(_FailingUpdates):
    def __init__(self) -> None:
        super().__init__(KeyError("unused"))
        self.seen: list = []

    async def process_update(self, data: dict) -> None:
        self.seen.append(data)


@pytest.mark.parametrize("body, content_type, status", [
    # JSON is UTF-8 (RFC 8259): an unknown declared charset is ignored, it raised LookupError (a 500)
    (b'{"update_id": 1}', "application/json; charset=\u00ff", 200),
    (b"[" * 2000 + b"]" * 2000, "application/json", 400),  # too deep for the parser: RecursionError (a 500)
    (b'{"a": "\xff"}', "application/json", 400),  # not UTF-8
], ids=["unknown-charset", "too-deep", "not-utf8"])
async def test_telegram_webhook_reads_utf8_json_and_refuses_the_rest_with_a_400(aiohttp_client, engine, body,
                                                                               content_type, status) -> None:
    app = create_app(desk_runtime(engine), TOKEN)
    app[keys.TELEGRAM] = updates = _RecordingUpdates()
    client = await aiohttp_client(app)
    secret = {"X-Telegram-Bot-Api-Secret-Token": app[keys.SETTINGS].effective_webhook_secret}
    resp = await client.post("/telegram/webhook", data=body, headers={**secret, "Content-Type": content_type})
    assert resp.status == status
    assert updates.seen == ([{"update_id": 1}] if status == 200 else [])
    ok = await client.post("/telegram/webhook", data='{"update_id": 2, "x": "tôi"}'.encode(),
                           headers={**secret, "Content-Type": "application/json"})
    assert ok.status == 200 and updates.seen[-1] == {"update_id": 2, "x": "tôi"}
