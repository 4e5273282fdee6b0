"""Run the desk: `python -m bot.desk` (DESK_HOST / BIND_HOST, default 127.0.0.1; port DESK_PORT, default 8080);
`python -m bot.desk create-account <username> --role counselor|supervisor|staff` adds a console account.

Before anything logs or writes: redacted logging (`bot.logsafety`), files created 0600 under a 0700 var/."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

import aiohttp
from aiohttp import web

from bot.config import bind_host, env, load_dotenv, private_process
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.desk.settings import DeskSettings, settings_from_env
from bot.logsafety import setup_logging
from bot.sending.outbound import build_outbound

log = logging.getLogger("bot.desk")


async def build_app(settings: DeskSettings, token: str) -> web.Application:
    """Build the process runtime and the clients inside the running loop, then the application."""
    from bot.clients.telegram import make_bot
    from bot.desk.app import create_app
    from bot.desk.rasa import RasaClient, tracker_engine
    from bot.privacy import tracker_writer
    from bot.runtime import build_runtime, set_process_runtime

    runtime = build_runtime()  # the one runtime of this process: engine, case store, reloading content
    if runtime.store is None:
        raise SystemExit("the project database is unavailable (DATABASE_URL)")
    set_process_runtime(runtime)
    http = aiohttp.ClientSession()
    try:
        outbound = build_outbound(http, runtime.store.engine)
    except Exception:  # a platform misconfiguration must not stop the desk
        log.exception("could not set up the channel senders: counselor replies go to the transcript only")
        outbound = None
    bot = None
    if settings.telegram_enabled and settings.telegram_token:
        bot = make_bot(settings.telegram_token, settings.bot_api_url, poll_timeout=settings.poll_timeout)
    rasa = RasaClient(http, settings.rasa_url, settings.rasa_token) if settings.rasa_url else None
    writer = tracker_writer()
    app = create_app(runtime, token, settings=settings, telegram_bot=bot, outbound=outbound, rasa=rasa,
                     tracker_engine=tracker_engine(settings.tracker_db_url), tracker_writer=writer)

    async def close_clients(_app: web.Application) -> None:
        await http.close()
        writer.dispose()

    app.on_cleanup.append(close_clients)  # runs after the background jobs have stopped
    return app


def serve() -> None:
    """Start the desk HTTP service."""
    token = env("DESK_API_TOKEN")
    if not token:
        raise SystemExit("DESK_API_TOKEN is not set (make run generates it into .env)")
    settings = settings_from_env()
    if settings.telegram_token and not settings.counselor_chat_id:
        log.warning("TELEGRAM_COUNSELOR_CHAT_ID is not set: notifications are off")
    web.run_app(build_app(settings, token), host=bind_host("DESK"),
                port=int(env("DESK_PORT", "8080") or 8080), access_log=None, print=None)


def create_account_cli(argv: list[str]) -> int:
    """`create-account USERNAME --role counselor|supervisor|staff [--name ...] [--telegram-id N] [--password-stdin]`."""
    from bot.desk.accounts import ROLES, AccountError, create_account

    parser = argparse.ArgumentParser(prog="python -m bot.desk create-account",
                                     description="Tạo tài khoản bảng điều khiển / create a console account")
    parser.add_argument("username")
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--name", help="tên hiển thị / display name")
    parser.add_argument("--telegram-id", type=int, help="Telegram user id của người này (liên kết hai nơi)")
    parser.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ stdin (dòng đầu)")
    args = parser.parse_args(argv)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mật khẩu / password: ")
        if getpass.getpass("Nhập lại / again: ") != password:
            print("Hai lần nhập không khớp / passwords differ.", file=sys.stderr)
            return 1
    engine = make_engine()
    init_db(engine)
    try:
        create_account(engine, args.username, password, args.role, args.name, args.telegram_id)
    except AccountError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"Đã tạo tài khoản / created: {args.username.strip().lower()} ({args.role})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bot.desk`."""
    argv = sys.argv[1:] if argv is None else argv
    load_dotenv()
    private_process()
    setup_logging("desk")  # after load_dotenv: the secrets it redacts include those of .env
    logging.getLogger("telegram").setLevel(logging.INFO)
    if argv and argv[0] == "create-account":
        return create_account_cli(argv[1:])
    if argv and argv[0] not in ("serve",):
        print(__doc__, file=sys.stderr)
        return 2
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
