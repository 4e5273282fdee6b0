"""The inbox's settings read from environment variables (nothing is read at import time).

The platforms' own settings (ZaloSettings, MessengerSettings, TelegramSettings) are `bot.sending.settings`'.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.sending.settings import SendSettings, env_number


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
        send = SendSettings.from_env(env)
        return cls(bot_timeout=env_number(env, "CHANNEL_BOT_TIMEOUT_SECONDS", cls.bot_timeout),
                   seen_ttl_hours=env_number(env, "CHANNEL_SEEN_TTL_HOURS", cls.seen_ttl_hours),
                   lease_seconds=env_number(env, "CHANNEL_LEASE_SECONDS", cls.lease_seconds),
                   concurrency=max(1, int(env_number(env, "CHANNEL_CONCURRENCY", cls.concurrency))),
                   worker_id=send.worker_id, retry_window=send.retry_window, send_timeout=send.send_timeout,
                   max_attempts=send.max_attempts, sweep_interval=cls.sweep_interval)
