"""The inbox's settings: its own CHANNEL_* variables, and the senders' share read the way bot.sending reads it."""

from __future__ import annotations

from bot.channels.settings import RuntimeSettings

ENV = {"CHANNEL_WORKER_ID": "rasa-1", "CHANNEL_BOT_TIMEOUT_SECONDS": "4", "CHANNEL_CONCURRENCY": "0",
       "CHANNEL_LEASE_SECONDS": "x", "OUTBOUND_RETRY_WINDOW_SECONDS": "9", "OUTBOUND_MAX_ATTEMPTS": "3"}


def test_runtime_settings_from_env() -> None:
    s = RuntimeSettings.from_env(ENV)
    assert (s.worker_id, s.bot_timeout, s.concurrency, s.lease_seconds) == ("rasa-1", 4.0, 1, 30.0)
    assert (s.retry_window, s.send_timeout, s.max_attempts, s.sweep_interval) == (9.0, 10.0, 3, 15.0)
