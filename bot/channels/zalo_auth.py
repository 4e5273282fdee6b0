"""`python -m bot.channels.zalo_auth [--reseed]`: show or replace the Zalo OA token pair stored in the database.

After authorising the OA again, `--reseed` stores ZALO_ACCESS_TOKEN / ZALO_REFRESH_TOKEN from `.env`
over the stored pair (the refresh itself is `bot.sending.zalo_tokens`'). Tokens are never printed.
"""

from __future__ import annotations

import argparse

from bot.config import load_dotenv
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.sending.settings import ZaloSettings
from bot.sending.zalo_tokens import read_tokens, seed_tokens


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.channels.zalo_auth --reseed`: store ZALO_ACCESS_TOKEN/ZALO_REFRESH_TOKEN after re-authorising."""
    parser = argparse.ArgumentParser(prog="python -m bot.channels.zalo_auth",
                                     description="Zalo OA token pair stored in the database")
    parser.add_argument("--reseed", action="store_true",
                        help="replace the stored pair with ZALO_ACCESS_TOKEN / ZALO_REFRESH_TOKEN from .env")
    args = parser.parse_args(argv)
    load_dotenv()
    settings, missing = ZaloSettings.from_env()
    if settings is None:
        print("Zalo is not configured: " + ", ".join(missing) + " not set")
        return 1
    engine = make_engine()
    init_db(engine)
    if args.reseed:
        seed_tokens(engine, settings.app_id, settings.access_token, settings.refresh_token, force=True)
        print("stored the token pair from the environment")
    row = read_tokens(engine, settings.app_id)
    if row is None:
        print("no token pair stored yet (the first send stores the one from the environment)")
    else:
        expiry = row.expires_at.isoformat() if row.expires_at else "unknown"
        print(f"token pair version {row.version}, access token expires {expiry}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
