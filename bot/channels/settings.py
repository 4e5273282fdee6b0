"""The inbox's settings and the REST switch, read from environment variables (nothing is read at import time).

The platforms' own settings (ZaloSettings, MessengerSettings, TelegramSettings) are `bot.sending.settings`'.
The replay window of signed webhooks is always at most half the dedup retention, so a request replayed
after its dedup row expired is refused as stale (see `RuntimeSettings.freshness_seconds`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import env_number
from bot.sending.settings import SendSettings


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
    # Signed webhooks older (or newer) than this are dropped: Meta retries a failed delivery for up to
    # 36 h, Zalo for less; capped below at half of seen_ttl_hours (see freshness_seconds).
    max_event_age_hours: float = 48.0

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
                   max_attempts=send.max_attempts, sweep_interval=cls.sweep_interval,
                   max_event_age_hours=env_number(env, "CHANNEL_MAX_EVENT_AGE_HOURS", cls.max_event_age_hours))

    @property
    def freshness_seconds(self) -> float:
        """How far a signed event's platform time may be from now.

        A request is accepted at most this long after (or before) its platform time, and its dedup row
        lives `seen_ttl_hours` from its first arrival: with the window at most half the retention, any
        replay that passes the window still finds the row.
        """
        return max(0.0, min(self.max_event_age_hours, self.seen_ttl_hours / 2)) * 3600.0


REST_ON, REST_OFF = "on", "off"
_REST_WORDS = {"on": True, "1": True, "true": True, "yes": True, "off": False, "0": False, "false": False, "no": False}


def rest_channel_setting(env: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """REST_CHANNEL: (mounted?, why). Unset means on (`make run` binds loopback only); a value not understood is off."""
    env = os.environ if env is None else env
    raw = (env.get("REST_CHANNEL") or "").strip().lower()
    if not raw:
        return True, "REST_CHANNEL unset (default on)"
    if raw in _REST_WORDS:
        return _REST_WORDS[raw], f"REST_CHANNEL={REST_ON if _REST_WORDS[raw] else REST_OFF}"
    return False, "REST_CHANNEL has a value other than on/off"
