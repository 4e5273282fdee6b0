"""The desk's case API: bearer token, newest first, sender filter, health."""

from bot.cases import CaseRequest, CaseStore
from bot.desk.app import create_app

TOKEN = "test-token"


def _open(store: CaseStore, sender: str, mid: str) -> int:
    case, _ = store.open_case(CaseRequest("zalo", sender, "danger_now", "cứu", ("kêu cứu",), None, mid))
    return case.id


async def test_requires_bearer_token(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(engine, TOKEN))
    assert (await client.get("/api/cases")).status == 401
    bad = await client.get("/api/cases", headers={"Authorization": "Bearer wrong"})
    assert bad.status == 401


async def test_lists_newest_first_and_filters(aiohttp_client, engine, store: CaseStore) -> None:
    first = _open(store, "zalo:1", "a")
    second = _open(store, "zalo:2", "b")
    client = await aiohttp_client(create_app(engine, TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = await (await client.get("/api/cases", headers=auth)).json()
    assert [c["id"] for c in body] == [second, first]
    only = await (await client.get("/api/cases", params={"sender_id": "zalo:1"}, headers=auth)).json()
    assert [c["id"] for c in only] == [first]
    assert (await client.get("/api/cases", params={"status": "nope"}, headers=auth)).status == 400
    detail = await (await client.get(f"/api/cases/{first}", headers=auth)).json()
    assert detail["events"][0]["kind"] == "created"


async def test_health_reports_database(aiohttp_client, engine) -> None:
    client = await aiohttp_client(create_app(engine, TOKEN))
    resp = await client.get("/health")
    assert resp.status == 200 and (await resp.json())["database"] == "ok"
