"""Channel settings read from environment variables (nothing is read at import time)."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass

ZALO_API_DEFAULT = "https://openapi.zalo.me"
ZALO_OAUTH_DEFAULT = "https://oauth.zaloapp.com"
FB_GRAPH_DEFAULT = "https://graph.facebook.com"
FB_GRAPH_VERSION_DEFAULT = "v21.0"
TELEGRAM_API_DEFAULT = "https://api.telegram.org"


def _get(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """A variable, treating empty values as unset."""
    value = env.get(name)
    return value.strip() if value not in (None, "") and value.strip() else default


def _missing(env: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    """The names among `names` that are unset or empty."""
    return [n for n in names if _get(env, n) is None]


@dataclass(frozen=True)
class ZaloSettings:
    """Zalo Official Account: webhook verification, sending and token refresh."""

    app_id: str
    app_secret: str
    oa_secret_key: str
    access_token: str
    refresh_token: str
    api_base_url: str = ZALO_API_DEFAULT
    oauth_base_url: str = ZALO_OAUTH_DEFAULT

    REQUIRED = ("ZALO_APP_ID", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_ACCESS_TOKEN", "ZALO_REFRESH_TOKEN")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> tuple[ZaloSettings | None, list[str]]:
        """The settings, or (None, names of the missing variables)."""
        env = os.environ if env is None else env
        missing = _missing(env, cls.REQUIRED)
        if missing:
            return None, missing
        return cls(app_id=_get(env, "ZALO_APP_ID"), app_secret=_get(env, "ZALO_APP_SECRET"),
                   oa_secret_key=_get(env, "ZALO_OA_SECRET_KEY"), access_token=_get(env, "ZALO_ACCESS_TOKEN"),
                   refresh_token=_get(env, "ZALO_REFRESH_TOKEN"),
                   api_base_url=_get(env, "ZALO_API_BASE_URL", ZALO_API_DEFAULT).rstrip("/"),
                   oauth_base_url=_get(env, "ZALO_OAUTH_BASE_URL", ZALO_OAUTH_DEFAULT).rstrip("/")), []


@dataclass(frozen=True)
class MessengerSettings:
    """Facebook Messenger: webhook verification and the Send API."""

    verify_token: str
    app_secret: str
    page_access_token: str
    graph_base_url: str = FB_GRAPH_DEFAULT
    graph_version: str = FB_GRAPH_VERSION_DEFAULT

    REQUIRED = ("FB_VERIFY_TOKEN", "FB_APP_SECRET", "FB_PAGE_ACCESS_TOKEN")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> tuple[MessengerSettings | None, list[str]]:
        """The settings, or (None, names of the missing variables)."""
        env = os.environ if env is None else env
        missing = _missing(env, cls.REQUIRED)
        if missing:
            return None, missing
        version = _get(env, "FB_GRAPH_VERSION", FB_GRAPH_VERSION_DEFAULT).strip("/")
        if not version.startswith("v"):
            version = "v" + version
        return cls(verify_token=_get(env, "FB_VERIFY_TOKEN"), app_secret=_get(env, "FB_APP_SECRET"),
                   page_access_token=_get(env, "FB_PAGE_ACCESS_TOKEN"),
                   graph_base_url=_get(env, "FB_GRAPH_BASE_URL", FB_GRAPH_DEFAULT).rstrip("/"),
                   graph_version=version), []


@dataclass(frozen=True)
class TelegramSettings:
    """The residents' Telegram bot (a separate bot from the counselors')."""

    bot_token: str
    webhook_secret: str
    api_base_url: str = TELEGRAM_API_DEFAULT

    REQUIRED = ("TELEGRAM_RESIDENT_BOT_TOKEN", "TELEGRAM_RESIDENT_WEBHOOK_SECRET")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> tuple[TelegramSettings | None, list[str]]:
        """The settings, or (None, names of the missing variables)."""
        env = os.environ if env is None else env
        missing = _missing(env, cls.REQUIRED)
        if missing:
            return None, missing
        return cls(bot_token=_get(env, "TELEGRAM_RESIDENT_BOT_TOKEN"),
                   webhook_secret=_get(env, "TELEGRAM_RESIDENT_WEBHOOK_SECRET"),
                   api_base_url=_get(env, "TELEGRAM_API_BASE_URL", TELEGRAM_API_DEFAULT).rstrip("/")), []

    @property
    def bot_base_url(self) -> str:
        """The `base_url` for python-telegram-bot: `<root>/bot` (requests go to `<base_url><token>/<method>`)."""
        return self.api_base_url if self.api_base_url.endswith("/bot") else self.api_base_url + "/bot"


@dataclass(frozen=True)
class RuntimeSettings:
    """How the shared inbox processes messages and how hard senders retry."""

    bot_timeout: float = 10.0          # seconds Rasa may take for one message before the safety net answers
    seen_ttl_hours: float = 168.0      # how long a message id is remembered against redelivery
    lease_seconds: float = 30.0        # a worker's claim on a message; renewed while it works
    concurrency: int = 8               # conversations processed at the same time
    worker_id: str = ""                # stable id: a restarted worker resumes its own claims at once
    retry_window: float = 30.0         # seconds a reply may be retried before it is recorded as failed
    send_timeout: float = 10.0         # seconds for one HTTP call to a platform
    max_attempts: int = 6              # HTTP attempts per reply part
    sweep_interval: float = 15.0       # how often pending or abandoned messages are looked for
    stop_grace: float = 5.0            # seconds running turns may finish when the server stops

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RuntimeSettings:
        """Settings from CHANNEL_* / OUTBOUND_* variables, with defaults."""
        env = os.environ if env is None else env

        def num(name: str, default: float) -> float:
            raw = _get(env, name)
            try:
                return float(raw) if raw is not None else default
            except ValueError:
                return default

        worker = _get(env, "CHANNEL_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        return cls(bot_timeout=num("CHANNEL_BOT_TIMEOUT_SECONDS", cls.bot_timeout),
                   seen_ttl_hours=num("CHANNEL_SEEN_TTL_HOURS", cls.seen_ttl_hours),
                   lease_seconds=num("CHANNEL_LEASE_SECONDS", cls.lease_seconds),
                   concurrency=max(1, int(num("CHANNEL_CONCURRENCY", cls.concurrency))),
                   worker_id=worker[:64],
                   retry_window=num("OUTBOUND_RETRY_WINDOW_SECONDS", cls.retry_window),
                   send_timeout=num("OUTBOUND_TIMEOUT_SECONDS", cls.send_timeout),
                   max_attempts=max(1, int(num("OUTBOUND_MAX_ATTEMPTS", cls.max_attempts))),
                   sweep_interval=cls.sweep_interval)
