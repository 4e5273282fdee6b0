"""Sending settings from the environment: complete or absent per platform, numbers with safe defaults."""

from __future__ import annotations

from bot.sending.settings import MessengerSettings, SendSettings, TelegramSettings, ZaloSettings


def test_send_settings_read_the_outbound_variables_and_the_worker_id() -> None:
    s = SendSettings.from_env({"CHANNEL_WORKER_ID": "w" * 80, "OUTBOUND_RETRY_WINDOW_SECONDS": "12.5",
                               "OUTBOUND_TIMEOUT_SECONDS": "3", "OUTBOUND_MAX_ATTEMPTS": "2"})
    assert (s.worker_id, s.retry_window, s.send_timeout, s.max_attempts) == ("w" * 64, 12.5, 3.0, 2)


def test_send_settings_fall_back_to_defaults_on_bad_or_missing_values() -> None:
    s = SendSettings.from_env({"OUTBOUND_RETRY_WINDOW_SECONDS": "soon", "OUTBOUND_MAX_ATTEMPTS": "0",
                               "OUTBOUND_TIMEOUT_SECONDS": " "})
    assert (s.retry_window, s.send_timeout, s.max_attempts) == (30.0, 10.0, 1)
    assert s.worker_id and s.worker_id != SendSettings.from_env({}).worker_id  # generated, unique per call


def test_a_platform_is_configured_only_when_every_variable_is_set() -> None:
    zalo, missing = ZaloSettings.from_env({"ZALO_APP_ID": "1", "ZALO_APP_SECRET": ""})
    assert zalo is None and missing == ["ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_ACCESS_TOKEN",
                                        "ZALO_REFRESH_TOKEN"]
    fb, _ = MessengerSettings.from_env({"FB_VERIFY_TOKEN": "v", "FB_APP_SECRET": "s", "FB_PAGE_ACCESS_TOKEN": "t",
                                        "FB_GRAPH_VERSION": "19.0"})
    assert fb is not None and fb.graph_version == "v19.0"
    tg, _ = TelegramSettings.from_env({"TELEGRAM_RESIDENT_BOT_TOKEN": "1:x", "TELEGRAM_RESIDENT_WEBHOOK_SECRET": "s",
                                       "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/"})
    assert tg is not None and tg.bot_base_url == "http://127.0.0.1:9/bot"
