"""The facade other processes use to reach residents: `build_outbound` and the `Outbound` it returns.

`build_outbound(http, engine)` gives an Outbound with a sender for every platform configured in the
environment; sending to another platform raises GiveUp("channel not configured"). Each platform's
sender lives in its channel module (zalo.py, messenger.py, telegram.py); retries, failure records
and the RetryLater / GiveUp contract are `bot.channels.delivery.Outbound`'s.
"""

from __future__ import annotations

import aiohttp
from sqlalchemy.engine import Engine

from bot.channels.delivery import Outbound, Sender
from bot.channels.messenger import MessengerSender
from bot.channels.settings import MessengerSettings, RuntimeSettings, TelegramSettings, ZaloSettings
from bot.channels.telegram import TelegramSender
from bot.channels.zalo import ZaloSender
from bot.channels.zalo_auth import ZaloTokens

__all__ = ["Outbound", "build_outbound"]


def build_outbound(http: aiohttp.ClientSession, engine: Engine, settings: RuntimeSettings | None = None,
                   env: dict[str, str] | None = None) -> Outbound:
    """An Outbound for every channel configured in the environment (others raise GiveUp when used)."""
    rt = settings or RuntimeSettings.from_env(env)
    senders: dict[str, Sender] = {}
    zalo, _ = ZaloSettings.from_env(env)
    if zalo:
        tokens = ZaloTokens(engine, http, zalo, rt.worker_id, timeout=rt.send_timeout)
        senders["zalo"] = ZaloSender(http, zalo, tokens, rt.send_timeout)
    messenger, _ = MessengerSettings.from_env(env)
    if messenger:
        senders["messenger"] = MessengerSender(http, messenger, rt.send_timeout)
    telegram, _ = TelegramSettings.from_env(env)
    if telegram:
        senders["telegram"] = TelegramSender(telegram, rt.send_timeout)
    return Outbound(senders, engine, retry_window=rt.retry_window, max_attempts=rt.max_attempts)
