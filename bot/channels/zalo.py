"""Zalo Official Account channel: events in at POST /webhooks/zalo/webhook, customer-service messages out.

Configured in credentials.yml as `bot.channels.zalo.ZaloInput:` (settings from ZALO_* variables).
Webhooks are verified on the raw body (the signature covers the body's `timestamp`, which is the
replay window's clock); a resident's text is read as words, never as `/intent` syntax. Replies go out
through `bot.sending.zalo.ZaloSender`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from bot.channels.base import Parsed, ResidentChannel, WebhookError, header, parse_json
from bot.channels.intake import epoch_seconds, neutralise
from bot.channels.items import ATTACHMENT, TEXT, UNFOLLOW, WELCOME, Item
from bot.channels.poll_reply import map_poll_reply
from bot.channels.runtime import ChannelRuntime
from bot.sending.sender import Sender
from bot.sending.settings import ZaloSettings
from bot.sending.zalo import ZaloSender
from bot.sending.zalo_tokens import ZaloTokens
from bot.timeutil import utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
ATTACHMENT_EVENTS = {
    "user_send_image": "image", "user_send_sticker": "sticker", "user_send_gif": "gif",
    "user_send_audio": "audio", "user_send_video": "video", "user_send_file": "file",
    "user_send_link": "link", "user_send_location": "location", "user_send_business_card": "contact",
}
# Receipts and events that need no answer.
IGNORED_EVENTS = {"user_received_message", "user_seen_message", "user_reacted_message", "oa_reacted_message",
                  "user_click_chatnow", "user_submit_info", "add_user_to_tag", "change_oa_daily_quota",
                  "change_template_status", "shop_has_order", "user_asking_product"}


def zalo_signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """hex sha256(app_id + raw_body + timestamp + OA secret key): Zalo's webhook signature (a hash, not an HMAC)."""
    # surrogatepass: a body may carry a lone surrogate (valid JSON escape); it must give a wrong hash, not a 500.
    return hashlib.sha256(app_id.encode("utf-8", "surrogatepass") + raw_body
                          + timestamp.encode("utf-8", "surrogatepass") + oa_secret_key.encode("utf-8")).hexdigest()


def verify_zalo(settings: ZaloSettings, headers: Mapping[str, str], raw: bytes, body: Any) -> bool:
    """True when the X-ZEvent-Signature header matches the body, for this app."""
    given = (header(headers, SIGNATURE_HEADER) or "").strip()
    if not given or not isinstance(body, dict):
        return False
    if given.lower().startswith("mac="):
        given = given[4:].strip()
    app_id, timestamp = body.get("app_id"), body.get("timestamp")
    if not isinstance(app_id, (str, int)) or not isinstance(timestamp, (str, int)):
        return False
    if str(app_id) != settings.app_id:
        return False
    expected = zalo_signature(str(app_id), raw, str(timestamp), settings.oa_secret_key)
    return hmac.compare_digest(given.lower().encode("ascii", "replace"), expected.encode("ascii"))


def _id(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def parse_zalo_event(body: dict[str, Any]) -> Parsed:
    """Turn one (verified) Zalo event into inbox items."""
    event = body.get("event_name")
    if not isinstance(event, str) or not event:
        raise WebhookError(400, "missing event_name")
    timestamp = str(body.get("timestamp") or "")
    sent_at = epoch_seconds(body.get("timestamp"))
    if event.startswith("oa_send_") or event in IGNORED_EVENTS:
        return Parsed(skipped=1)
    if event in ("follow", "unfollow"):
        follower = _id((body.get("follower") or {}).get("id")) if isinstance(body.get("follower"), dict) else None
        if follower is None:
            raise WebhookError(400, "missing follower.id")
        kind = WELCOME if event == "follow" else UNFOLLOW
        return Parsed([Item(key=f"zalo:{event}:{follower}:{timestamp}", channel="zalo",
                            sender_id=f"zalo:{follower}", kind=kind, sent_at=sent_at)])
    if event == "user_send_text" or event in ATTACHMENT_EVENTS:
        sender = _id((body.get("sender") or {}).get("id")) if isinstance(body.get("sender"), dict) else None
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        msg_id = _id(message.get("msg_id"))
        if sender is None or msg_id is None:
            raise WebhookError(400, "missing sender.id or message.msg_id")
        text = neutralise(message["text"]) if isinstance(message.get("text"), str) else ""
        base = {"key": f"zalo:{msg_id}", "channel": "zalo", "sender_id": f"zalo:{sender}", "sent_at": sent_at}
        if text.strip():  # a text, or an attachment with a caption: the words are what matter
            return Parsed([Item(**base, kind=TEXT, text=text)])
        if event == "user_send_text":
            return Parsed(skipped=1)
        return Parsed([Item(**base, kind=ATTACHMENT, data={"attachment": ATTACHMENT_EVENTS[event]})])
    log.info("zalo event %s ignored", event[:40])
    return Parsed(skipped=1)


class ZaloInput(ResidentChannel):
    """Residents writing to the Official Account on Zalo."""

    settings_class = ZaloSettings
    signed_times = True  # the body's `timestamp` (ms) is covered by X-ZEvent-Signature

    @classmethod
    def name(cls) -> str:
        """Mounted at /webhooks/zalo/."""
        return "zalo"

    def parse_webhook(self, headers: Mapping[str, str], raw: bytes) -> Parsed:
        """403 without a valid signature; 400 for invalid JSON; receipts and echoes skipped."""
        if not header(headers, SIGNATURE_HEADER):
            raise WebhookError(403, "missing signature")
        body = parse_json(raw)
        if not verify_zalo(self.settings, headers, raw, body):
            raise WebhookError(403, "invalid signature")
        return parse_zalo_event(body)

    def make_sender(self, runtime: ChannelRuntime) -> Sender:
        """The OA sender, with the token pair kept in the database."""
        rt = runtime.settings
        tokens = ZaloTokens(runtime.engine, runtime.http, self.settings, rt.worker_id, timeout=rt.send_timeout)
        return ZaloSender(runtime.http, self.settings, tokens, rt.send_timeout)

    async def before_process(self, item: Item) -> None:
        """A typed answer to the sender's open poll becomes its intent (Zalo shows the options as numbered lines)."""
        engine = self.runtime.engine if self.runtime is not None else None
        if item.kind != TEXT or not item.text or engine is None:
            return
        try:
            mapped = await asyncio.to_thread(map_poll_reply, engine, item.sender_id, item.text, utcnow())
        except Exception as exc:  # the database is down: the reply stays words, answered like any other
            log.warning("poll state unavailable: %s", type(exc).__name__)
            return
        if mapped is not None:
            item.text = mapped
