"""Helpers of the sending tests (no Rasa, no Sanic): test credentials, the environment of the fakes, fast settings."""

from __future__ import annotations

from typing import Any

from bot.sending.settings import SendSettings

ZALO_APP_ID = "zalo-app-1"
ZALO_APP_SECRET = "zalo-app-secret"
ZALO_OA_KEY = "zalo-oa-secret-key"
FB_APP_SECRET = "fb-app-secret"
FB_VERIFY = "fb-verify-token"
FB_PAGE_TOKEN = "PAGE-TOKEN"
TG_TOKEN = "7000001:RESIDENT-TEST-TOKEN"
TG_SECRET = "tg-webhook-secret"


def platform_env(zalo: Any = None, graph: Any = None, telegram: Any = None) -> dict[str, str]:
    """Environment variables pointing the platforms at the fake servers given."""
    env: dict[str, str] = {}
    if zalo is not None:
        env.update(ZALO_APP_ID=ZALO_APP_ID, ZALO_APP_SECRET=ZALO_APP_SECRET, ZALO_OA_SECRET_KEY=ZALO_OA_KEY,
                   ZALO_ACCESS_TOKEN="AT-1", ZALO_REFRESH_TOKEN="RT-1", ZALO_API_BASE_URL=zalo.base_url,
                   ZALO_OAUTH_BASE_URL=zalo.base_url)
    if graph is not None:
        env.update(FB_VERIFY_TOKEN=FB_VERIFY, FB_APP_SECRET=FB_APP_SECRET, FB_PAGE_ACCESS_TOKEN=FB_PAGE_TOKEN,
                   FB_GRAPH_BASE_URL=graph.base_url, FB_GRAPH_VERSION=graph.version)
    if telegram is not None:
        env.update(TELEGRAM_RESIDENT_BOT_TOKEN=telegram.token, TELEGRAM_RESIDENT_WEBHOOK_SECRET=TG_SECRET,
                   TELEGRAM_API_BASE_URL=telegram.api_root)
    return env


def fast_send_settings(**overrides: Any) -> SendSettings:
    """Short timeouts and windows so failure paths finish quickly."""
    values: dict[str, Any] = {"worker_id": "test-worker", "retry_window": 3.0, "send_timeout": 2.0, "max_attempts": 4}
    values.update(overrides)
    return SendSettings(**values)
