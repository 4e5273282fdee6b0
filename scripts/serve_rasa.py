"""`python -m scripts.serve_rasa <rasa run arguments>`: Rasa's server as `make run` starts it (Procfile).

Guarantees: the API token is read from RASA_AUTH_TOKEN and added to the arguments inside this process, so `ps`
and /proc/<pid>/cmdline never show it; without a token (or with one on the command line) the server does not
start; it listens on RASA_HOST / BIND_HOST (default 127.0.0.1); Sanic refuses a body over 1 MiB from its headers,
before buffering it, and writes no access log; every log record is redacted (`bot.logsafety`) and debug logs,
which hold residents' messages, need RASA_DEBUG_LOGS=1; files are created 0600 under a 0700 var/; the SQLite
tracker store is 0600, in WAL mode, and its engine hides bound parameters in errors; the speed-ups of
`bot.rasa_tuning` are applied (RASA_TUNING=off leaves Rasa as shipped).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from bot import rasa_tuning
from bot.config import MAX_REQUEST_BYTES, bind_host, load_dotenv, private_process, tracker_database_url
from bot.db.engine import prepare_sqlite_file
from bot.logsafety import setup_logging

DEBUG_FLAGS = ("--debug", "-vv")


class Refused(SystemExit):
    """The server must not start as asked."""


def sanic_environment(environ: MutableMapping[str, str]) -> None:
    """Sanic reads SANIC_* into its config when an app is created: bound the body, switch the access log off."""
    environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(MAX_REQUEST_BYTES))
    environ["SANIC_ACCESS_LOG"] = "False"  # access lines carry URLs (?token=, sender ids) as `extra` fields


def rasa_argv(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """`rasa run` arguments with the interface and the token added; refuses what would be unsafe."""
    token = environ.get("RASA_AUTH_TOKEN", "")
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in argv):
        raise Refused("Pass the Rasa token in RASA_AUTH_TOKEN, not on the command line (`ps` shows arguments).")
    if "--enable-api" in argv and not token:
        raise Refused("RASA_AUTH_TOKEN is empty: refusing to open the API")
    debug = any(arg in DEBUG_FLAGS for arg in argv) or environ.get("LOG_LEVEL", "").upper() == "DEBUG"
    if debug and environ.get("RASA_DEBUG_LOGS") != "1":
        raise Refused("Rasa's debug logs contain residents' messages: set RASA_DEBUG_LOGS=1 to allow them.")
    args = ["rasa", "run", *argv]
    if not any(arg == "--interface" or arg.startswith("--interface=") or arg == "-i" for arg in argv):
        args += ["--interface", bind_host("RASA")]
    if token:
        args.append(f"--auth-token={token}")  # one word: a generated token may begin with "-"
    return args


def hide_tracker_parameters() -> None:
    """Rasa's SQL tracker store builds its engine without `hide_parameters`: add it (errors hold event text).

    A SQLite file also gets a connection pool: SQLAlchemy 1.4 opens and closes a connection per session there.
    """
    from rasa.core import tracker_store
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import QueuePool

    original = getattr(tracker_store.create_engine_kwargs, "original", tracker_store.create_engine_kwargs)

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        parsed = make_url(url)
        pool = {"poolclass": QueuePool} if parsed.get_backend_name() == "sqlite" and parsed.database not in (
            None, "", ":memory:") else {}
        return {**original(url), "hide_parameters": True, **pool}

    create_engine_kwargs.original = original  # type: ignore[attr-defined]
    tracker_store.create_engine_kwargs = create_engine_kwargs


def prepare_tracker_store(url: str) -> Path | None:
    """Create the SQLite tracker file 0600 in WAL mode before Rasa opens it (WAL persists in the file)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return prepare_sqlite_file(Path(path), wal=True) if path and path != ":memory:" else None


def main(argv: Sequence[str] | None = None) -> None:
    """Start Rasa's server."""
    argv = list(sys.argv[1:] if argv is None else argv)
    load_dotenv()  # honcho loads .env too; this covers a start by hand
    private_process()
    setup_logging("rasa", configure=False)
    try:
        args = rasa_argv(argv, os.environ)
    except Refused as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    sanic_environment(os.environ)
    prepare_tracker_store(tracker_database_url())
    hide_tracker_parameters()
    rasa_tuning.apply(os.environ.get("RASA_TUNING", ""))
    from rasa.__main__ import main as rasa_main

    sys.argv = args
    rasa_main()


if __name__ == "__main__":
    main()
