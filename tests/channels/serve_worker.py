"""A channel server in its own process, for the test that kills it mid-send.

Run as `python -m tests.channels.serve_worker <database url> <fake zalo url> <worker id> <calls file>`.
Prints `PORT <n>` when ready; appends one line per assistant turn to the calls file.
"""

from __future__ import annotations

import asyncio
import os
import sys

import aiohttp
from rasa.core.channels.channel import UserMessage

from bot.channels.zalo import ZaloInput
from bot.config import CONTENT_DIR
from bot.content.library import Library
from bot.db.engine import make_engine
from tests.channels.harness import ChannelServer, FakeBot, channel_env, make_runtime

LONG_REPLY = "\n\n".join(f"Phần {n}. " + " ".join(["Bạn không phải đối mặt một mình."] * 50) for n in (1, 2, 3))


class _Fake:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


async def main(db_url: str, zalo_url: str, worker: str, calls_file: str) -> None:
    """Serve the Zalo channel until killed."""
    engine = make_engine(db_url)
    library = Library.load(CONTENT_DIR)

    def reply(message: UserMessage) -> str:
        with open(calls_file, "a", encoding="utf-8") as fh:
            fh.write(f"{message.message_id}\n")
            fh.flush()
            os.fsync(fh.fileno())
        return LONG_REPLY

    async with aiohttp.ClientSession() as http:
        runtime = make_runtime(engine, library, channel_env(zalo=_Fake(zalo_url)), http, worker_id=worker,
                               retry_window=30.0, send_timeout=30.0)
        channel = ZaloInput(ZaloInput.settings_class.from_env(channel_env(zalo=_Fake(zalo_url)))[0], runtime=runtime)
        server = await ChannelServer([channel], FakeBot(reply=reply)).start()
        print(f"PORT {server.port}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
