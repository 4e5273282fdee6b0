"""What each platform allows a broadcast: text length, quick replies, messaging windows, send rates, quiet hours.

Every figure is a configurable default (environment variables read when asked, never at import time).
Figures marked UNCONFIRMED are not published by the platform in that form (../shared/reference/platform-apis.md,
section Outreach; docs/outreach.md lists them): Messenger's and Zalo's send rates, Zalo's 48 h consultation
window (whether consultation messages are refused after 48 h or allowed, paid, up to 7 days) and its
8-messages-per-window rule (not enforced here: one broadcast is one message).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.config import env, env_number, env_value
from bot.timeutil import VN_TZ, aware

# Characters in one message, the neutral first line and the closing line included (a broadcast is never split).
TEXT_LIMITS = {"messenger": 2000, "zalo": 2000, "telegram": 4096}
# Quick replies in one message, the "stop" reply included. Zalo customer-service messages have no buttons: the
# options become numbered lines (kept to Telegram's count so a message stays short).
BUTTON_LIMITS = {"messenger": 13, "telegram": 8, "zalo": 8}
BUTTON_TITLE_MAX = 20   # Messenger cuts quick-reply titles at 20 characters
POLL_OPTIONS_MAX = 4
# Hours after the resident's last message within which the platform accepts a message (None: no window).
# Messenger 24 h is documented; Zalo 48 h is the consultation window, UNCONFIRMED in detail.
WINDOW_HOURS: dict[str, float | None] = {"messenger": 24.0, "zalo": 48.0, "telegram": None}
# Messages per second across all recipients (Telegram ~30/s overall is documented loosely; the others UNCONFIRMED).
RATE_PER_SECOND = {"telegram": 25.0, "messenger": 20.0, "zalo": 10.0}
UNCONFIRMED = ("rate:messenger", "rate:zalo", "window:zalo")
# How long to wait after a platform's quota error (a daily/monthly cap): an hour, then try again.
QUOTA_WAIT = 3600.0
DEFAULT_QUIET_HOURS = "21:00-07:00"
QUIET_OFF = "off"

_QUIET_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def default_quiet_hours() -> str:
    """BROADCAST_QUIET_HOURS ("21:00-07:00" unless set; "off" for none)."""
    return (env("BROADCAST_QUIET_HOURS", DEFAULT_QUIET_HOURS) or DEFAULT_QUIET_HOURS).strip()


def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    """"21:00-07:00" → (21:00, 07:00) in Vietnam time; "off" → None; raises ValueError when malformed."""
    if (spec or "").strip().lower() == QUIET_OFF:
        return None
    match = _QUIET_RE.match(spec or "")
    if not match:
        raise ValueError(spec)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        raise ValueError(spec)
    return time(h1, m1), time(h2, m2)


def quiet_until(spec: str, now: datetime) -> datetime | None:
    """When the quiet hours that contain `now` end (UTC), or None outside them (or when they are off)."""
    bounds = parse_quiet_hours(spec)
    if bounds is None:
        return None
    start, end = bounds
    local = aware(now).astimezone(VN_TZ)
    clock = local.time().replace(tzinfo=None)
    # Quiet hours may run across midnight (21:00-07:00).
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(aware(now).tzinfo)


def window_hours(channel: str, environ: Mapping[str, str] | None = None) -> float | None:
    """The channel's messaging window in hours (BROADCAST_WINDOW_<CHANNEL>_HOURS; 0 or "none": no window)."""
    default = WINDOW_HOURS.get(channel)
    raw = env_value(os.environ if environ is None else environ, f"BROADCAST_WINDOW_{channel.upper()}_HOURS")
    if raw is None:
        return default
    if raw.lower() == "none":
        return None
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else None


def window_open(channel: str, last_inbound_at: datetime | None, now: datetime, hours: float | None) -> bool:
    """True when the platform still accepts a message to a resident whose last message was `last_inbound_at`."""
    if hours is None:
        return True
    if last_inbound_at is None:
        return False
    return aware(now) - aware(last_inbound_at) < timedelta(hours=hours)


@dataclass(frozen=True)
class SendLimits:
    """Per-platform send rates and windows, read from the environment once by the desk."""

    rates: dict[str, float]
    windows: dict[str, float | None]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SendLimits:
        """BROADCAST_RATE_TELEGRAM / _MESSENGER / _ZALO (messages per second) and BROADCAST_WINDOW_*_HOURS."""
        environ = os.environ if environ is None else environ
        rates = {}
        for channel, default in RATE_PER_SECOND.items():
            value = env_number(environ, f"BROADCAST_RATE_{channel.upper()}", default)
            rates[channel] = value if value > 0 else default
        return cls(rates, {channel: window_hours(channel, environ) for channel in WINDOW_HOURS})
