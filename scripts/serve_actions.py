"""`python -m scripts.serve_actions <rasa-sdk arguments>`: the action server as `make run` starts it (Procfile).

Guarantees: it listens on ACTION_HOST / BIND_HOST (default 127.0.0.1: the action server has no authentication,
only Rasa may reach it); Sanic refuses a body over 1 MiB from its headers, before buffering it, and writes no access
log (rasa-sdk's catch-all handler would answer 500 and echo the request body: an oversized body gets a plain
413); every log record is redacted (`bot.logsafety`); files are created 0600 under a 0700 var/.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from bot.config import bind_host, load_dotenv, private_process
from bot.logsafety import setup_logging
from scripts.serve_rasa import sanic_environment


def action_environment(environ: MutableMapping[str, str]) -> None:
    """rasa-sdk reads its listening address from SANIC_HOST (default 0.0.0.0): set it from ours."""
    environ["SANIC_HOST"] = bind_host("ACTION")
    sanic_environment(environ)


def with_payload_limit(create_app: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap rasa-sdk's `create_app` so that Sanic's PayloadTooLarge is a 413 without the body."""
    from sanic import response
    from sanic.exceptions import PayloadTooLarge

    def create(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)

        async def too_large(_request: Any, _exc: Exception) -> Any:
            return response.json({"error": "payload too large"}, status=413)

        app.error_handler.add(PayloadTooLarge, too_large)  # the most specific handler wins over `Exception`
        return app

    return create


def main(argv: Sequence[str] | None = None) -> None:
    """Start the action server."""
    argv = list(sys.argv[1:] if argv is None else argv)
    load_dotenv()  # honcho loads .env too; this covers a start by hand
    private_process()
    setup_logging("actions", configure=False)
    action_environment(os.environ)
    from rasa_sdk import endpoint
    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser

    endpoint.create_app = with_payload_limit(endpoint.create_app)
    main_from_args(create_argument_parser().parse_args(argv))


if __name__ == "__main__":
    main()
