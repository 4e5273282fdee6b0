"""What the replica tests share: the scaled layout's settings and waiting for every replica to answer."""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp

from tests.desk.helpers import eventually


def scaled_env(pg_url: str, postgres: Any, redis_server: Any) -> dict[str, str]:
    """Settings for `start_project`: the project database, a new tracker database on the same server, Redis."""
    tracker_db = f"trackers_{secrets.token_hex(4)}"
    return {"DATABASE_URL": pg_url, "TRACKER_DATABASE_URL": postgres.create_database(tracker_db),
            "RASA_ENDPOINTS": "endpoints-scaled.yml", "TRACKER_DB_HOST": "127.0.0.1",
            "TRACKER_DB_PORT": str(postgres.port), "TRACKER_DB_NAME": tracker_db, "TRACKER_DB_USER": "bot",
            "TRACKER_DB_PASSWORD": "", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_server.port)}


async def wait_up(http: aiohttp.ClientSession, stack: Any, path: str, params: dict[str, str] | None = None) -> None:
    """Until every replica answers 200 at `path` (and every process of the stack is alive)."""
    for url in stack.urls:
        async def up(url: str = url) -> bool:
            stack.procs.alive()
            try:
                async with http.get(f"{url}{path}", params=params) as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(up, timeout=300, interval=0.5)
