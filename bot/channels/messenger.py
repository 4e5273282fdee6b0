"""Facebook Messenger channel (the project's own, not Rasa's built-in one): webhook in, Send API out.

Configured in credentials.yml as `bot.channels.messenger.MessengerInput:` (settings from FB_* variables).
POST /webhooks/messenger/webhook is verified with X-Hub-Signature-256 on the raw body and every event
of every entry is kept; GET answers the subscription handshake. The entry's `time` (signed with the
body) is the replay window's clock. Typed text is read as words; a button's payload reaches the bot
as an intent only when it is the Page's own or a bare `/intent` (`bot.channels.intake`). Replies go
out through `bot.sending.messenger.MessengerSender`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import Parsed, ResidentChannel, WebhookError, header, parse_json
from bot.channels.intake import button_payload, epoch_seconds, neutralise
from bot.channels.items import ATTACHMENT, DELETE_REQUEST_TEXT, TEXT, WELCOME, Item
from bot.channels.runtime import ChannelRuntime
from bot.sending.messenger import MessengerSender
from bot.sending.sender import Sender
from bot.sending.settings import MessengerSettings
from bot.tokens import same_secret

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Postback / quick-reply payloads set up on the Page (Get Started, persistent menu) → what the bot receives.
PAYLOADS = {
    "GET_STARTED": None,  # welcome
    "HOTLINE": "/ask_hotline",
    "COUNSELOR": "/request_counselor",
    "EVENTS": "/ask_events",
    "DELETE_DATA": DELETE_REQUEST_TEXT,
}
MAX_PAYLOAD = 1000  # Meta's own limit on a payload; longer ones are cut before they are stored
ATTACHMENT_TYPES = {"image": "image", "video": "video", "audio": "audio", "file": "file", "location": "location",
                    "fallback": "link", "template": "other", "sticker": "sticker"}


def messenger_signature(app_secret: str, raw_body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(app secret, raw body)>`, as in X-Hub-Signature-256."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_messenger(app_secret: str, headers: Mapping[str, str], raw: bytes) -> bool:
    """True when X-Hub-Signature-256 matches the raw body (constant-time comparison)."""
    given = (header(headers, SIGNATURE_HEADER) or "").strip()
    if not given:
        return False
    return hmac.compare_digest(given.lower().encode("ascii", "replace"),
                               messenger_signature(app_secret, raw).encode("ascii"))


def verify_subscription(settings: MessengerSettings, args: Mapping[str, str]) -> str | None:
    """The challenge to echo when the GET handshake carries the right mode and token, else None."""
    mode, token, challenge = args.get("hub.mode"), args.get("hub.verify_token"), args.get("hub.challenge")
    if mode != "subscribe" or token is None or challenge is None:
        return None
    if not same_secret(token, settings.verify_token):
        return None
    return challenge


def _payload_item(base: dict[str, Any], payload: str, title: str | None) -> Item:
    """A postback or quick reply: the Page's payloads map to intents, a bare `/intent` passes, the rest is words."""
    payload = payload[:MAX_PAYLOAD]
    if payload in PAYLOADS:
        mapped = PAYLOADS[payload]
        if mapped is None:
            return Item(**base, kind=WELCOME)
        return Item(**base, kind=TEXT, text=mapped, data={"payload": payload})
    text = button_payload(payload) if payload else neutralise(title or "")
    return Item(**base, kind=TEXT, text=text, data={"payload": payload})


def parse_messenger_event(event: dict[str, Any]) -> Item | None:
    """One `messaging` event → an inbox item (None: skipped: echo, read, delivery, missing fields)."""
    sender = (event.get("sender") or {}).get("id") if isinstance(event.get("sender"), dict) else None
    if not isinstance(sender, (str, int)) or not str(sender):
        return None
    sender_id = f"messenger:{sender}"
    message, postback = event.get("message"), event.get("postback")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None
        mid = message.get("mid")
        if not isinstance(mid, str) or not mid:
            return None
        base = {"key": f"messenger:{mid}", "channel": "messenger", "sender_id": sender_id}
        quick = message.get("quick_reply")
        if isinstance(quick, dict) and isinstance(quick.get("payload"), str):
            return _payload_item(base, quick["payload"], message.get("text"))
        text = neutralise(message["text"]) if isinstance(message.get("text"), str) else ""
        if text.strip():
            return Item(**base, kind=TEXT, text=text)
        attachments = message.get("attachments")
        if isinstance(attachments, list) and attachments:
            first = attachments[0] if isinstance(attachments[0], dict) else {}
            kind = ATTACHMENT_TYPES.get(str(first.get("type")), "other")
            if kind == "image" and isinstance(first.get("payload"), dict) and first["payload"].get("sticker_id"):
                kind = "sticker"
            return Item(**base, kind=ATTACHMENT, data={"attachment": kind})
        return None
    if isinstance(postback, dict):
        payload = postback.get("payload") if isinstance(postback.get("payload"), str) else ""
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]  # the key stays short
        mid = postback.get("mid") or f"postback:{sender}:{event.get('timestamp')}:{digest}"
        base = {"key": f"messenger:{mid}", "channel": "messenger", "sender_id": sender_id}
        return _payload_item(base, payload, postback.get("title"))
    return None  # read, delivery, reaction, optin…


def parse_messenger_body(body: Any) -> Parsed:
    """Every entry and every event of a (verified) POST; `standby`/`changes` entries are skipped."""
    if not isinstance(body, dict):
        raise WebhookError(400, "body must be a JSON object")
    if body.get("object") != "page":
        return Parsed(skipped=1)
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise WebhookError(400, "missing entry")
    parsed = Parsed()
    for entry in entries:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        if not isinstance(events, list):
            parsed.skipped += 1  # standby, changes, or malformed
            continue
        entry_time = epoch_seconds(entry.get("time"))
        for event in events:
            item = parse_messenger_event(event) if isinstance(event, dict) else None
            if item is None:
                parsed.skipped += 1
            else:
                item.sent_at = entry_time if entry_time is not None else epoch_seconds(event.get("timestamp"))
                parsed.items.append(item)
    return parsed


class MessengerInput(ResidentChannel):
    """Residents writing to the Facebook Page."""

    settings_class = MessengerSettings
    signed_times = True  # entry[].time (ms) is inside the body X-Hub-Signature-256 covers

    @classmethod
    def name(cls) -> str:
        """Mounted at /webhooks/messenger/."""
        return "messenger"

    def extra_routes(self, bp: Blueprint) -> None:
        """GET /webhook: the subscription handshake."""
        async def verify(request: Request) -> HTTPResponse:
            """GET /webhook: the subscription handshake."""
            return await self._verify(request)

        bp.add_route(verify, "/webhook", methods=["GET"])

    async def _verify(self, request: Request) -> HTTPResponse:
        args = {k: request.args.get(k) for k in ("hub.mode", "hub.verify_token", "hub.challenge")}
        challenge = verify_subscription(self.settings, {k: v for k, v in args.items() if v is not None})
        if challenge is None:
            return response.text("forbidden", status=403)
        return response.text(challenge)

    def parse_webhook(self, headers: Mapping[str, str], raw: bytes) -> Parsed:
        """403 unless X-Hub-Signature-256 is right; then every event of every entry."""
        if not verify_messenger(self.settings.app_secret, headers, raw):
            raise WebhookError(403, "invalid signature")
        return parse_messenger_body(parse_json(raw))

    def make_sender(self, runtime: ChannelRuntime) -> Sender:
        """The Send API sender over the runtime's HTTP session."""
        return MessengerSender(runtime.http, self.settings, runtime.settings.send_timeout)
