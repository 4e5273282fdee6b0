"""The desk's case API: bearer token, newest first, sender filter, health (database, urgent deliveries)."""

from bot.cases.store import CaseRequest, CaseStore
from bot.desk.app import create_app
from bot.outbox.failures import record_failure
from bot.timeutil import ManualClock
from tests.desk.helpers import desk_runtime

TOKEN = "test-token"


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
    resp = await client.get("/health")
    body = await resp.json()
    assert resp.status == 200 and body["database"] == "ok" and body["urgent_deliveries"] == "ok"


async def test_health_fails_while_an_urgent_reply_could_not_be_delivered(aiohttp_client, engine) -> None:
    clock = ManualClock()
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN, clock=clock))
    record_failure(engine, "zalo", "zalo:1", "zalo:-230", urgent=False, by_human=False)
    assert (await client.get("/health")).status == 200  # an ordinary reply that failed is not an alarm
    record_failure(engine, "zalo", "zalo:2", "zalo:-230", urgent=True, by_human=False)
    resp = await client.get("/health")
    body = await resp.json()
    assert resp.status == 503 and body["urgent_deliveries"] == "failing" and body["status"] == "degraded"
    assert body["urgent_delivery_failures"] == 1
    clock.advance(minutes=61)  # the window is the last hour
    resp = await client.get("/health")
    assert resp.status == 200 and (await resp.json())["urgent_deliveries"] == "ok"


async def test_a_garbage_bearer_is_a_401_not_a_500(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(desk_runtime(engine), TOKEN))
    for header in ("Bearer tôi-là-token", "Bearer \u00e9\u00e9", "Basic xyz", "Bearer"):
        assert (await client.get("/api/cases", headers={"Authorization": header})).status == 401
    assert (await client.get("/api/cases", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200
