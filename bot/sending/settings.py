"""The platforms' sending settings, read from environment variables (nothing is read at import time).

Each platform's settings are complete or absent: `from_env` returns None and the missing names.
`SendSettings` is how hard senders retry; the channels' inbox settings extend it with their own.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.config import env_number, env_value

ZALO_API_DEFAULT = "https://openapi.zalo.me"
ZALO_OAUTH_DEFAULT = "https://oauth.zaloapp.com"
FB_GRAPH_DEFAULT = "https://graph.facebook.com"
FB_GRAPH_VERSION_DEFAULT = "v21.0"
TELEGRAM_API_DEFAULT = "https://api.telegram.org"


def _missing(env: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    """The names among `names` that are unset or empty."""
    return [n for n in names if env_value(env, n) is None]


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
        return cls(app_id=env_value(env, "ZALO_APP_ID"), app_secret=env_value(env, "ZALO_APP_SECRET"),
                   oa_secret_key=env_value(env, "ZALO_OA_SECRET_KEY"),
                   access_token=env_value(env, "ZALO_ACCESS_TOKEN"),
                   refresh_token=env_value(env, "ZALO_REFRESH_TOKEN"),
                   api_base_url=env_value(env, "ZALO_API_BASE_URL", ZALO_API_DEFAULT).rstrip("/"),
                   oauth_base_url=env_value(env, "ZALO_OAUTH_BASE_URL", ZALO_OAUTH_DEFAULT).rstrip("/")), []


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
        version = env_value(env, "FB_GRAPH_VERSION", FB_GRAPH_VERSION_DEFAULT).strip("/")
        if not version.startswith("v"):
            version = "v" + version
        return cls(verify_token=env_value(env, "FB_VERIFY_TOKEN"), app_secret=env_value(env, "FB_APP_SECRET"),
                   page_access_token=env_value(env, "FB_PAGE_ACCESS_TOKEN"),
                   graph_base_url=env_value(env, "FB_GRAPH_BASE_URL", FB_GRAPH_DEFAULT).rstrip("/"),
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
        return cls(bot_token=env_value(env, "TELEGRAM_RESIDENT_BOT_TOKEN"),
                   webhook_secret=env_value(env, "TELEGRAM_RESIDENT_WEBHOOK_SECRET"),
                   api_base_url=env_value(env, "TELEGRAM_API_BASE_URL", TELEGRAM_API_DEFAULT).rstrip("/")), []

    @property
    def bot_base_url(self) -> str:
        """The `base_url` for python-telegram-bot: `<root>/bot` (requests go to `<base_url><token>/<method>`)."""
        return self.api_base_url if self.api_base_url.endswith("/bot") else self.api_base_url + "/bot"


class SendSettingsLike(Protocol):
    """What `build_outbound` reads: the channels' RuntimeSettings qualifies as well as SendSettings."""

    worker_id: str
    retry_window: float
    send_timeout: float
    max_attempts: int


@dataclass(frozen=True)
class SendSettings:
    """How hard senders retry, and the worker id that names this process in the Zalo token lease."""

    worker_id: str = ""                # CHANNEL_WORKER_ID, else host, pid and a random suffix
    retry_window: float = 30.0         # seconds a reply may be retried before it is recorded as failed
    send_timeout: float = 10.0         # seconds for one HTTP call to a platform
    max_attempts: int = 6              # HTTP attempts per reply part

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SendSettings:
        """Settings from CHANNEL_WORKER_ID / OUTBOUND_* variables, with defaults."""
        env = os.environ if env is None else env
        worker = env_value(env, "CHANNEL_WORKER_ID") or \
            f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        return cls(worker_id=worker[:64],
                   retry_window=env_number(env, "OUTBOUND_RETRY_WINDOW_SECONDS", cls.retry_window),
                   send_timeout=env_number(env, "OUTBOUND_TIMEOUT_SECONDS", cls.send_timeout),
                   max_attempts=max(1, int(env_number(env, "OUTBOUND_MAX_ATTEMPTS", cls.max_attempts))))
