"""Every service listens on loopback unless told otherwise, the Rasa token stays off the command line, and the
Sanic servers refuse a large body from its headers (issue 11, #5 and the body-limit Low). The same is checked on
running processes in tests/test_stack.py."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from aiohttp import web

import bot.desk.__main__ as desk_main
from bot.config import MAX_REQUEST_BYTES, bind_host
from scripts.serve_actions import action_environment
from scripts.serve_rasa import Refused, rasa_argv, sanic_environment

ROOT = Path(__file__).resolve().parents[1]
HOSTS = ("BIND_HOST", "RASA_HOST", "ACTION_HOST", "DESK_HOST")


@pytest.fixture(autouse=True)
def _no_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HOSTS:
        monkeypatch.delenv(name, raising=False)


def test_services_bind_loopback_unless_a_setting_opens_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {bind_host(s) for s in ("RASA", "ACTION", "DESK")} == {"127.0.0.1"}
    monkeypatch.setenv("BIND_HOST", "0.0.0.0")
    monkeypatch.setenv("DESK_HOST", "10.0.0.5")
    assert (bind_host("RASA"), bind_host("DESK")) == ("0.0.0.0", "10.0.0.5")


def test_the_desk_listens_on_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_run_app(app, **kwargs) -> None:
        seen.update(kwargs)
        app.close()  # the coroutine is never run

    monkeypatch.setenv("DESK_API_TOKEN", "t" * 20)
    monkeypatch.setattr(web, "run_app", fake_run_app)
    desk_main.serve()
    assert seen["host"] == "127.0.0.1"


def test_rasa_gets_loopback_and_the_token_inside_the_process() -> None:
    args = rasa_argv(["--enable-api", "--port", "5005"], {"RASA_AUTH_TOKEN": "tok-123"})
    assert args[:2] == ["rasa", "run"]
    assert args[args.index("--interface") + 1] == "127.0.0.1"
    assert "--auth-token=tok-123" in args
    assert rasa_argv(["--interface", "10.1.1.1"], {})[-2:] == ["--interface", "10.1.1.1"]


def test_a_token_that_begins_with_a_dash_reaches_rasa_intact() -> None:
    # secrets.token_urlsafe() begins with "-" once in 64 tokens; as a separate word argparse took it for an option.
    from rasa.__main__ import create_argument_parser

    args = rasa_argv(["--enable-api", "--port", "5005"], {"RASA_AUTH_TOKEN": "-Xy_token"})
    parsed = create_argument_parser().parse_args(args[1:])
    assert parsed.auth_token == "-Xy_token"


@pytest.mark.parametrize("argv, environ", [
    (["--enable-api"], {}),
    (["--enable-api"], {"RASA_AUTH_TOKEN": ""}),
    (["--enable-api", "--auth-token", "visible"], {"RASA_AUTH_TOKEN": "t"}),
    (["--enable-api", "--auth-token=visible"], {"RASA_AUTH_TOKEN": "t"}),
    (["--enable-api", "--debug"], {"RASA_AUTH_TOKEN": "t"}),
    (["--enable-api"], {"RASA_AUTH_TOKEN": "t", "LOG_LEVEL": "debug"}),
])
def test_rasa_refuses_an_open_api_a_visible_token_and_debug_logs(argv: list[str], environ: dict[str, str]) -> None:
    with pytest.raises(Refused):
        rasa_argv(argv, environ)


def test_debug_logs_are_an_explicit_choice() -> None:
    assert "--debug" in rasa_argv(["--debug"], {"RASA_DEBUG_LOGS": "1"})


def test_the_action_server_binds_loopback_and_bounds_bodies() -> None:
    environ: dict[str, str] = {}
    action_environment(environ)
    assert environ == {"SANIC_HOST": "127.0.0.1", "SANIC_REQUEST_MAX_SIZE": str(MAX_REQUEST_BYTES),
                       "SANIC_ACCESS_LOG": "False"}


def test_sanic_reads_the_body_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from sanic.config import Config

    environ: dict[str, str] = {}
    sanic_environment(environ)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    config = Config()
    assert config.REQUEST_MAX_SIZE == MAX_REQUEST_BYTES == 1024 * 1024 and config.ACCESS_LOG is False


def test_the_procfile_starts_the_wrappers_and_puts_no_secret_on_a_command_line() -> None:
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(lines) == {"rasa", "actions", "desk"}
    for name, command in lines.items():
        words = shlex.split(command)
        assert not any("TOKEN" in w or "SECRET" in w or w == "--auth-token" for w in words), name
        assert "0.0.0.0" not in command
    assert "scripts.serve_rasa" in lines["rasa"] and "scripts.serve_actions" in lines["actions"]
