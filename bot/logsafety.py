"""Log safety: one logging setup for every process, and redaction as the second line of defence.

What this file guarantees once `setup_logging` has run in a process: every log record created there, by any
logger and for any handler (also handlers that Rasa or Sanic configure later), has its message, its arguments,
its traceback and its stack text redacted before a handler formats it — Telegram bot tokens, bearer and basic
credentials, `token=`/`secret=`/`password=` values (query strings, JSON, command lines), passwords in database
URLs, the exact values of this process's secret environment variables, channel sender ids, the text quoted
after "user message" (Rasa's own wording), phone numbers and e-mail addresses (`bot.text.mask_pii`); messages
are cut at `MAX_MESSAGE` characters. httpx and httpcore, which log request URLs (a Bot API URL holds the bot
token), are held at WARNING. The first line of defence stays in the code: log ids and counts, never text.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping

from bot.text import mask_pii

MAX_MESSAGE = 8192
REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|_KEY)$")
MIN_SECRET = 8  # shorter values would redact ordinary words
_KEYS = r"[a-z_.-]*(?:token|secret|password|passwd|api[_-]?key|signature)"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}"), REDACTED),  # Telegram bot token, also inside /bot<token>/ URLs
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s,;'\"]+"), rf"\1\2{REDACTED}"),
    (re.compile(rf"(?i)(\b{_KEYS}=)[^&\s'\"<>]+"), rf"\1{REDACTED}"),  # query strings, forms, key=value
    (re.compile(rf"(?i)(['\"]{_KEYS}['\"]\s*:\s*['\"])[^'\"]*"), rf"\1{REDACTED}"),  # JSON and dict reprs
    (re.compile(rf"(?i)(--{_KEYS}[ =])\S+"), rf"\1{REDACTED}"),  # command lines
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), rf"\1{REDACTED}@"),  # credentials in a URL
    (re.compile(r"\b(zalo|messenger|telegram):-?\d{5,}"), r"\1:[id]"),
    (re.compile(r"\brest:[^\s,;'\")\]}]+"), "rest:[id]"),
    (re.compile(r"(?i)(user message\s+)(['\"]).*?\2(?=[\s.,;:)]|$)", re.S), r"\1\2[text]\2"),
)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_PLAIN = logging.Formatter()


def secrets_from_env(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of environment variables whose names say they are secrets, longest first."""
    environ = os.environ if environ is None else environ
    values = {value for name, value in environ.items() if SECRET_NAME.search(name.upper()) and len(value) >= MIN_SECRET}
    return tuple(sorted(values, key=len, reverse=True))


class Redactor:
    """Turns a text into one that is safe to log."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(s for s in secrets if len(s) >= MIN_SECRET)

    def __call__(self, text: str) -> str:
        """The redacted text."""
        if len(text) > MAX_MESSAGE:
            text = text[:MAX_MESSAGE] + " …[truncated]"
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return mask_pii(text)

    def record(self, record: logging.LogRecord) -> logging.LogRecord:
        """Redact a record in place (message, arguments, traceback, stack, string extras); returns it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it, with the raw text redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = self(message), ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = self(_PLAIN.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self(record.exc_text)
        if record.stack_info:
            record.stack_info = self(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):  # `extra=` fields such as Sanic's `request`
                setattr(record, key, self(value))
        return record


class RedactingFilter(logging.Filter):
    """A handler filter that redacts every record it passes (it never drops one)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record and let it through."""
        self.redactor.record(record)
        return True


def quiet_http_loggers() -> None:
    """httpx/httpcore log request URLs at INFO, and a Bot API URL contains the bot token."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (0) would follow the root logger
            logger.setLevel(logging.WARNING)


def install_record_factory(redactor: Redactor) -> None:
    """Redact every record at creation, whichever handler later formats it (idempotent: the last one wins)."""
    base = logging.getLogRecordFactory()
    base = getattr(base, "wrapped", base)

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return redactor.record(base(*args, **kwargs))

    factory.wrapped = base  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def setup_logging(process: str, level: int = logging.INFO, environ: Mapping[str, str] | None = None, *,
                  configure: bool = True) -> Redactor:
    """The logging setup every entry point calls first: redaction, quiet HTTP loggers, and (`configure`)
    a root handler with the process name (Rasa and rasa-sdk install their own: pass False)."""
    redactor = Redactor(secrets_from_env(environ))
    install_record_factory(redactor)
    root = logging.getLogger()
    if configure and not root.handlers:
        logging.basicConfig(level=level, format=f"%(asctime)s {process} %(levelname)s %(name)s %(message)s")
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(redactor))
    quiet_http_loggers()
    return redactor
