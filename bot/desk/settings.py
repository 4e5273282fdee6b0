"""Desk settings, read from the environment by the entry point (never at import time)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.config import ROOT, env, tracker_database_url
from bot.outreach.limits import QUOTA_WAIT, RATE_PER_SECOND, WINDOW_HOURS, SendLimits

log = logging.getLogger(__name__)
DEFAULT_TELEGRAM_API = "https://api.telegram.org"


def _float(name: str, default: float) -> float:
    raw = env(name)
    try:
        return float(raw) if raw is not None else default
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number") from exc


@dataclass
class DeskSettings:
    """Everything the desk needs to know that is not an engine or a client."""

    public_url: str = "http://127.0.0.1:8080"
    session_secret: str = ""
    telegram_token: str | None = None
    telegram_api_base_url: str = DEFAULT_TELEGRAM_API
    counselor_chat_id: str | None = None
    supervisor_chat_id: str | None = None
    supervisor_mention: str | None = None
    webhook_secret: str | None = None
    update_mode: str = "auto"  # auto | webhook | polling | off
    poll_timeout: float = 25.0
    deadlines: dict[str, timedelta] = field(default_factory=lambda: {
        "danger_now": timedelta(minutes=5), "needs_support": timedelta(minutes=30)})
    claimed_stale_after: timedelta = timedelta(hours=24)
    max_reescalations: int = 3
    rasa_url: str | None = "http://127.0.0.1:5005"
    rasa_token: str | None = None
    tracker_db_url: str | None = None
    watch_rest_tracker: bool = True
    # Backstop for cards and forwards (they are queued with the case change itself).
    reconcile_interval: float = 30.0
    escalation_interval: float = 5.0
    rest_watch_interval: float = 1.0
    outbox_interval: float = 0.25
    max_backoff: float = 300.0
    resident_max_attempts: int = 12
    session_hours: float = 12.0
    cookie_secure: bool = False
    trusted_proxy: bool = False  # DESK_TRUSTED_PROXY=1: count logins by the proxy's X-Forwarded-For entry
    nlu_dir: Path = ROOT / "data" / "nlu"
    # Broadcasts (bot.outreach; docs/outreach.md): the scheduler's pass, platform pace and windows, retries.
    broadcast_interval: float = 2.0
    broadcast_limits: SendLimits = field(default_factory=lambda: SendLimits(dict(RATE_PER_SECOND), dict(WINDOW_HOURS)))
    broadcast_max_attempts: int = 100
    broadcast_quota_wait: float = QUOTA_WAIT
    broadcast_reminders_auto: bool = False  # BROADCAST_REMINDERS_AUTO=1: event reminders approved by "he-thong"

    @property
    def telegram_enabled(self) -> bool:
        """True when there is a token and a group to notify."""
        return bool(self.telegram_token and self.counselor_chat_id)

    @property
    def bot_api_url(self) -> str:
        """The Bot API base URL as python-telegram-bot wants it (ending in `/bot`)."""
        return f"{self.telegram_api_base_url}/bot"

    @property
    def effective_webhook_secret(self) -> str:
        """TELEGRAM_WEBHOOK_SECRET, else one derived from the session secret (A-Z, a-z, 0-9, _ -)."""
        if self.webhook_secret:
            return self.webhook_secret
        digest = hmac.new(self.session_secret.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()
        return digest[:48]

    @property
    def uses_webhook(self) -> bool:
        """Webhook when asked to, or (auto) when the public URL is HTTPS; else long polling."""
        if self.update_mode == "webhook":
            return True
        return self.update_mode == "auto" and self.public_url.startswith("https://")

    def case_url(self, case_id: int) -> str:
        """Link to a case in the console."""
        return f"{self.public_url.rstrip('/')}/cases/{case_id}"


def settings_from_env() -> DeskSettings:
    """Read DeskSettings from the environment (call after load_dotenv)."""
    secret = env("DESK_SESSION_SECRET")
    if secret is not None and len(secret) < 16:
        raise SystemExit("DESK_SESSION_SECRET is shorter than 16 characters (`make run` generates one into .env)")
    if secret is None:
        log.warning("DESK_SESSION_SECRET is not set: using a random one, so console logins end when the desk "
                    "restarts (`make run` generates it into .env)")
        secret = secrets.token_urlsafe(32)
    public = env("DESK_PUBLIC_URL", f"http://127.0.0.1:{env('DESK_PORT', '8080')}") or ""
    mode = (env("TELEGRAM_UPDATE_MODE", "auto") or "auto").lower()
    if mode not in ("auto", "webhook", "polling", "off"):
        raise SystemExit("TELEGRAM_UPDATE_MODE must be auto, webhook, polling or off")
    return DeskSettings(
        public_url=public.rstrip("/"),
        session_secret=secret,
        telegram_token=env("TELEGRAM_BOT_TOKEN"),
        telegram_api_base_url=(env("TELEGRAM_API_BASE_URL", DEFAULT_TELEGRAM_API) or "").rstrip("/"),
        counselor_chat_id=env("TELEGRAM_COUNSELOR_CHAT_ID"),
        supervisor_chat_id=env("TELEGRAM_SUPERVISOR_CHAT_ID"),
        supervisor_mention=env("TELEGRAM_SUPERVISOR_MENTION"),
        webhook_secret=env("TELEGRAM_WEBHOOK_SECRET"),
        update_mode=mode,
        poll_timeout=_float("TELEGRAM_POLL_TIMEOUT", 25.0),
        deadlines={"danger_now": timedelta(minutes=_float("DESK_DEADLINE_DANGER_NOW_MINUTES", 5)),
                   "needs_support": timedelta(minutes=_float("DESK_DEADLINE_NEEDS_SUPPORT_MINUTES", 30))},
        claimed_stale_after=timedelta(hours=_float("DESK_CLAIMED_STALE_HOURS", 24)),
        max_reescalations=int(_float("DESK_MAX_REESCALATIONS", 3)),
        rasa_url=(env("RASA_URL", "http://127.0.0.1:5005") or "").rstrip("/"),
        rasa_token=env("RASA_AUTH_TOKEN"),
        tracker_db_url=tracker_database_url(),
        watch_rest_tracker=env("DESK_WATCH_REST_TRACKER", "1") not in ("0", "false", "no"),
        reconcile_interval=_float("DESK_RECONCILE_INTERVAL", 30.0),
        escalation_interval=_float("DESK_ESCALATION_INTERVAL", 5.0),
        rest_watch_interval=_float("DESK_REST_WATCH_INTERVAL", 1.0),
        outbox_interval=_float("DESK_OUTBOX_INTERVAL", 0.25),
        max_backoff=_float("DESK_OUTBOX_MAX_BACKOFF", 300.0),
        session_hours=_float("DESK_SESSION_HOURS", 12.0),
        cookie_secure=public.startswith("https://"),
        trusted_proxy=env("DESK_TRUSTED_PROXY", "0") in ("1", "true", "yes"),
        broadcast_interval=_float("BROADCAST_SCHEDULER_INTERVAL", 2.0),
        broadcast_limits=SendLimits.from_env(),
        broadcast_max_attempts=int(_float("BROADCAST_MAX_ATTEMPTS", 100)),
        broadcast_quota_wait=_float("BROADCAST_QUOTA_WAIT_SECONDS", QUOTA_WAIT),
        broadcast_reminders_auto=env("BROADCAST_REMINDERS_AUTO", "0") in ("1", "true", "yes"),
    )
