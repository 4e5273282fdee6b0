"""A separate worker process for the token-refresh race test: sends one Zalo message and exits.

Run as `python -m tests.sending.race_worker <database url> <fake zalo url> <user id> <worker id>`.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

from bot.db.engine import make_engine
from bot.outbox.errors import DeliveryError
from bot.sending.outbound import build_outbound
from tests.sending.helpers import fast_send_settings, platform_env


class _Fake:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


async def main(db_url: str, zalo_url: str, user_id: str, worker: str) -> int:
    """Send one message through a fresh engine and Outbound; print the outcome as JSON."""
    engine = make_engine(db_url)
    async with aiohttp.ClientSession() as http:
        out = build_outbound(http, engine, fast_send_settings(worker_id=worker, retry_window=20.0),
                             platform_env(zalo=_Fake(zalo_url)))
        try:
            await out.send_text(f"zalo:{user_id}", f"Tin nhắn từ {worker}")
            print(json.dumps({"ok": True}))
            return 0
        except DeliveryError as exc:
            print(json.dumps({"ok": False, "reason": exc.reason}))
            return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
