"""Logs never carry message text, phone numbers, sender ids or secrets (issue 11, #10): each source, and the filter."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from bot.clients.telegram import make_bot
from bot.db.engine import make_engine
from bot.logsafety import REDACTED, Redactor, secrets_from_env, setup_logging

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PHONE = "0912345678"


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """Restore the record factory, the root handlers and the HTTP loggers' levels after a test."""
    factory, root = logging.getLogRecordFactory(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = {h: list(h.filters) for h in handlers}
    http = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    logging.setLogRecordFactory(factory)
    root.handlers[:] = handlers
    root.setLevel(level)
    for handler, kept in filters.items():
        handler.filters[:] = kept
    for name, value in http.items():
        logging.getLogger(name).setLevel(value)


def _stream_handler(logger: logging.Logger) -> io.StringIO:
    """A handler added AFTER the setup (as Rasa and Sanic do), formatting with tracebacks."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return out


@pytest.mark.parametrize("text, secret", [
    (f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage", BOT_TOKEN),
    ("Authorization: Bearer s3cr3t-bearer-value", "s3cr3t-bearer-value"),
    ("GET /status?token=rasa-token-value&x=1", "rasa-token-value"),
    ("GET /webhook?hub.verify_token=fb-verify-value", "fb-verify-value"),
    ("{'access_token': 'zalo-access-value', 'ok': 1}", "zalo-access-value"),
    ('{"refresh_token": "zalo-refresh-value"}', "zalo-refresh-value"),
    ("rasa run --auth-token cli-token-value --port 1", "cli-token-value"),
    ("postgresql://bot:db-password-value@db/app", "db-password-value"),
    (f"gọi em số {PHONE} nhé", PHONE),
    ("liên hệ +84 912 345 678", "912 345 678"),
    ("sender telegram:5551234567 failed", "5551234567"),
    ("conversation rest:telegram:4242 paused", "telegram:4242"),
    ("An exception occurred while handling user message 'chồng tôi đánh tôi'.", "chồng tôi đánh tôi"),
    ("Received user message 'it's him again' with intent", "it's him again"),
])
def test_the_redactor_removes_secrets_phone_numbers_sender_ids_and_quoted_text(text: str, secret: str) -> None:
    redacted = Redactor()(text)
    assert secret not in redacted and redacted != text


def test_the_redactor_keeps_ids_counts_and_times() -> None:
    text = "2026-12-02 00:16:54,123 case 12345 sent in 0.8 s, telegram:429 retry, ref 3fa9c0d2e1"
    assert Redactor()(text) == text


def test_the_redactor_removes_the_processes_own_secrets_and_cuts_floods() -> None:
    environ = {"DESK_API_TOKEN": "plain-looking-desk-token", "ZALO_OA_SECRET_KEY": "zalo-oa-secret", "HOME": "/root",
               "SHORT_TOKEN": "abc"}
    assert secrets_from_env(environ) == ("plain-looking-desk-token", "zalo-oa-secret")
    redactor = Redactor(secrets_from_env(environ))
    assert redactor("x plain-looking-desk-token y zalo-oa-secret") == f"x {REDACTED} y {REDACTED}"
    assert len(redactor("a" * 1_000_000)) < 10_000


def test_every_record_is_redacted_whatever_handler_formats_it(clean_logging: None) -> None:
    setup_logging("test", environ={"RASA_AUTH_TOKEN": "process-secret-value"})
    out = _stream_handler(logging.getLogger("rasa.late"))  # configured after the setup, not on the root
    logger = logging.getLogger("rasa.late")
    logger.info("token %s phone %s", "process-secret-value", PHONE)
    try:
        raise ValueError(f"bad request for bot{BOT_TOKEN} from {PHONE}")
    except ValueError:
        logger.exception("failed for %s", "rest:someone")
    logger.warning("stack", stack_info=True, extra={"request": f"GET /x?token={BOT_TOKEN}"})
    text = out.getvalue()
    assert "ValueError" in text and "failed for rest:[id]" in text
    for secret in ("process-secret-value", PHONE, BOT_TOKEN, "rest:someone"):
        assert secret not in text


def test_a_broken_format_string_does_not_raise_into_the_caller(clean_logging: None) -> None:
    setup_logging("test", environ={})
    out = _stream_handler(logging.getLogger("broken"))
    logging.getLogger("broken").info("%d items for %s", "not-a-number", PHONE)
    assert PHONE not in out.getvalue()


def test_an_integrity_error_names_no_bound_parameter(tmp_path: Path, clean_logging: None) -> None:
    setup_logging("test", environ={})
    out = _stream_handler(logging.getLogger("bot.cases"))
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    table = Table("people", MetaData(), Column("id", Integer, primary_key=True), Column("phone", String, unique=True))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table).values(phone=PHONE))
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(insert(table).values(phone=PHONE))
    assert PHONE not in str(caught.value)  # hide_parameters: the first line of defence
    assert "hidden due to hide_parameters" in str(caught.value)
    try:
        raise caught.value
    except IntegrityError:
        logging.getLogger("bot.cases").exception("could not store the case")
    assert "IntegrityError" in out.getvalue() and PHONE not in out.getvalue()


def test_an_http_request_to_the_bot_api_logs_no_token(clean_logging: None) -> None:
    setup_logging("test", environ={})
    assert logging.getLogger("httpx").level >= logging.WARNING  # every process, not only those that build a bot
    make_bot(BOT_TOKEN, "http://127.0.0.1:9/bot")
    out = _stream_handler(logging.getLogger("httpx"))  # even when someone turns httpx up again
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    with httpx.Client(transport=transport) as client:
        client.post(f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage?chat_id=1", json={"text": "x"})
    text = out.getvalue()
    assert "HTTP Request" in text and "sendMessage" in text and BOT_TOKEN not in text


def test_every_engine_the_code_creates_hides_bound_parameters() -> None:
    """Each create_engine call under bot/ and scripts/ passes hide_parameters=True (errors would show the text)."""
    import ast

    root = Path(__file__).resolve().parents[1]
    calls = []
    for path in [*root.joinpath("bot").rglob("*.py"), *root.joinpath("scripts").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) \
                    == "create_engine":
                hidden = any(k.arg == "hide_parameters" and getattr(k.value, "value", None) is True
                             for k in node.keywords)
                calls.append((f"{path.relative_to(root)}:{node.lineno}", hidden))
    assert len(calls) >= 5, calls  # the project's engine, the tracker readers (desk, report)
    assert [where for where, hidden in calls if not hidden] == []
