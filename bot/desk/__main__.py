"""Run the desk: `python -m bot.desk` (port from DESK_PORT, default 8080)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.config import env, load_dotenv
from bot.db import init_db, make_engine
from bot.desk.app import create_app


def main() -> None:
    """Start the desk HTTP service."""
    load_dotenv()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s desk %(levelname)s %(message)s")
    token = env("DESK_API_TOKEN")
    if not token:
        raise SystemExit("DESK_API_TOKEN is not set (make run generates it into .env)")
    engine = make_engine()
    init_db(engine)
    web.run_app(create_app(engine, token), host=env("DESK_HOST", "0.0.0.0"),
                port=int(env("DESK_PORT", "8080")), access_log=None)


if __name__ == "__main__":
    main()
