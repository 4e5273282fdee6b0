"""What the replica tests share: the scaled layout's settings and waiting for every replica to answer."""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp

from scripts.local_servers import scaled_settings
from tests.desk.helpers import eventually


def scaled_env(pg_url: str, postgres: Any, redis_server: Any) -> dict[str, str]:
    """Settings for `start_project`: the test's project database, a new tracker database on the same server, Redis."""
    tracker_db = f"trackers_{secrets.token_hex(4)}"
    postgres.create_database(tracker_db)
    return scaled_settings(postgres, tracker_db, redis_server.port, app_db=pg_url.rsplit("/", 1)[1])


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
