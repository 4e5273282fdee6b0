"""A fake Telegram Bot API on 127.0.0.1 for tests (shared by the desk and the channels).

Usage::

    async with FakeTelegram(token="123:TEST") as tg:
        bot = telegram.Bot(tg.token, base_url=tg.base_url)
        await bot.send_message(chat_id=-100, text="xin chào")
        assert tg.sent_texts(-100) == ["xin chào"]

It answers getMe, sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
getUpdates (long polling), setWebhook, deleteWebhook, getWebhookInfo, getChatMember and pinChatMessage; checks the
token in the path; parses form-encoded (python-telegram-bot's format: JSON-encoded values),
multipart or JSON bodies; records every request; and can be told to fail (HTTP 500, 429 with
retry_after, or `{"ok": false}` with an error code) or stall, per method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

from tests.fakes.loopback import LoopbackServer
from tests.fakes.pacing import SendPace

# Parameters that are strings even when they look like numbers or JSON.
_STRING_FIELDS = frozenset({
    "text", "caption", "url", "secret_token", "callback_query_id", "inline_message_id",
    "parse_mode", "data", "allowed_updates_raw", "description", "ip_address", "business_connection_id",
})
_METHODS = frozenset({
    "getMe", "sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
    "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "getChatMember", "logOut", "close",
    "pinChatMessage",
})
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted")
_ADMIN_RIGHTS = ("can_delete_messages", "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                 "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories")
_RESTRICTED_RIGHTS = ("can_change_info", "can_invite_users", "can_pin_messages", "can_send_messages",
                      "can_send_polls", "can_send_other_messages", "can_add_web_page_previews", "can_manage_topics",
                      "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
                      "can_send_video_notes", "can_send_voice_notes", "can_edit_tag", "can_react_to_messages")


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    at: float
    token_ok: bool
    outcome: str = "ok"  # ok | failed | rejected | rate_limited | unauthorized | unknown_method | abandoned


@dataclass
class _Rule:
    kind: str  # "error" | "stall"
    times: int | None  # None: until cleared
    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    seconds: float | None = None
    release: asyncio.Event | None = None
    chat_id: str | None = None  # only calls to this chat (None: any)


@dataclass
class FakeMessage:
    """A message the fake bot has sent (and maybe edited)."""

    message_id: int
    chat_id: int | str
    text: str
    reply_markup: dict[str, Any] | None
    date: int
    edits: list[str] = field(default_factory=list)
    reply_to_message_id: int | None = None

    def buttons(self) -> list[dict[str, Any]]:
        """The inline buttons of the message, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]


async def _wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for an event at most `timeout` seconds (None: forever); True when it was set."""
    waiter = asyncio.ensure_future(event.wait())
    done, _ = await asyncio.wait({waiter}, timeout=timeout)
    if not done:
        waiter.cancel()
    return bool(done)


def _decode(name: str, raw: str) -> Any:
    """Decode one form value the way python-telegram-bot encoded it (JSON for non-strings)."""
    if name in _STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class FakeTelegram(LoopbackServer):
    """An aiohttp fake of the Bot API bound to a random loopback port."""

    def __init__(self, token: str = "123456:TEST-TOKEN", *, username: str = "fake_desk_bot",
                 bot_id: int = 123456) -> None:
        """Configure the token the fake accepts and the bot's identity."""
        super().__init__()
        self.token = token
        self.other_tokens: set[str] = set()  # more bots on the same fake (e.g. the residents' bot beside the desk's)
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "Fake bot", "username": username,
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.requests: list[Recorded] = []
        self.stalled: list[Recorded] = []
        self.messages: dict[tuple[str, int], FakeMessage] = {}
        self.members: dict[str, dict[int, str]] = {}
        self.webhook: dict[str, Any] = {}
        self.pinned: dict[str, int] = {}  # chat id -> the pinned message's id
        self._rules: dict[str, list[_Rule]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[str, itertools.count] = {}
        self._new_update = asyncio.Event()
        self._changed: asyncio.Event | None = None
        self.pace = SendPace()  # `limit_rate()`; accepted sendMessage calls per chat in `pace.counts`
        self._pace_retry_after = 1

    # ---- lifecycle -------------------------------------------------------------------------
    client_max_size = 20 * 1024 * 1024

    def routes(self, app: web.Application) -> None:
        """The fake's endpoints."""
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._changed = asyncio.Event()

    async def _before_stop(self) -> None:
        """Release stalled requests."""
        for rules in self._rules.values():
            for rule in rules:
                if rule.release is not None:
                    rule.release.set()

    @property
    def base_url(self) -> str:
        """The value for `Bot(token, base_url=...)`."""
        return f"{self.root_url}/bot"

    @property
    def api_root(self) -> str:
        """The root URL without the `/bot` suffix (for TELEGRAM_API_BASE_URL-style settings)."""
        return self.root_url

    # ---- failure injection -------------------------------------------------------------------
    def fail(self, method: str = "*", *, times: int | None = 1, status: int = 500,
             description: str = "Internal Server Error") -> None:
        """Answer the next `times` calls of `method` (or every method: "*") with an HTTP error."""
        self._rules.setdefault(method, []).append(_Rule("error", times, status, description))

    def rate_limit(self, method: str = "*", *, retry_after: int = 1, times: int | None = 1) -> None:
        """Answer with 429 Too Many Requests and `parameters.retry_after`."""
        self._rules.setdefault(method, []).append(
            _Rule("error", times, 429, f"Too Many Requests: retry after {retry_after}", retry_after))

    def limit_rate(self, per_second: float | None, *, retry_after: int = 1) -> None:
        """Answer sendMessage beyond `per_second` calls in any second with 429 and `retry_after` (None: no limit)."""
        self.pace.limit(per_second)
        self._pace_retry_after = retry_after

    def per_chat(self) -> dict[str, int]:
        """How many messages sendMessage accepted per chat."""
        return dict(self.pace.counts)

    def reject(self, method: str = "*", *, description: str = "Bad Request: chat not found",
               status: int = 400, times: int | None = 1, chat_id: int | str | None = None) -> None:
        """Answer `{"ok": false, "error_code": status, "description": ...}` (optionally only for one chat)."""
        self._rules.setdefault(method, []).append(
            _Rule("error", times, status, description, chat_id=None if chat_id is None else str(chat_id)))

    def stall(self, method: str = "*", *, seconds: float | None = None, times: int | None = None) -> None:
        """Hold calls of `method` for `seconds`, or until `release()` when seconds is None."""
        self._rules.setdefault(method, []).append(
            _Rule("stall", times, seconds=seconds, release=asyncio.Event()))

    def release(self) -> None:
        """End every stall and drop stall rules."""
        for method, rules in self._rules.items():
            for rule in rules:
                if rule.release is not None:
                    rule.release.set()
            self._rules[method] = [r for r in rules if r.kind != "stall"]

    def heal(self) -> None:
        """Clear every failure and stall rule."""
        self.release()
        self._rules.clear()

    def _take_rule(self, method: str, kind: str, chat_id: Any = None) -> _Rule | None:
        for key in (method, "*"):
            for rule in self._rules.get(key, []):
                if rule.kind != kind or (rule.chat_id is not None and rule.chat_id != str(chat_id)):
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules[key].remove(rule)
                return rule
        return None

    # ---- membership, updates and webhooks --------------------------------------------------------
    def set_member(self, chat_id: int | str, user_id: int, status: str = "member") -> None:
        """Make `user_id` a member (or `left`, `kicked`, `administrator`…) of a chat."""
        self.members.setdefault(str(chat_id), {})[int(user_id)] = status

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an `update_id` is assigned when missing)."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._new_update.set()
        return update

    async def deliver_webhook(self, update: dict[str, Any], *, secret: str | None = None,
                              session: ClientSession | None = None) -> int:
        """POST an update to the registered webhook (with its secret unless `secret` is given)."""
        url = self.webhook.get("url")
        if not url:
            raise RuntimeError("no webhook registered")
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        token = self.webhook.get("secret_token") if secret is None else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        own = session is None
        session = session or ClientSession()
        try:
            async with session.post(url, json=update, headers=headers) as resp:
                return resp.status
        finally:
            if own:
                await session.close()

    def user(self, user_id: int, first_name: str = "Tư vấn viên", username: str | None = None) -> dict[str, Any]:
        """A Telegram User object."""
        data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            data["username"] = username
        return data

    def chat(self, chat_id: int | str) -> dict[str, Any]:
        """A Chat object (negative ids are supergroups)."""
        cid = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
        if isinstance(cid, int) and cid < 0:
            return {"id": cid, "type": "supergroup", "title": "Nhóm tư vấn"}
        return {"id": cid, "type": "private", "first_name": "Người dân"}

    def callback_update(self, *, user: dict[str, Any], message: FakeMessage, data: str,
                        query_id: str | None = None) -> dict[str, Any]:
        """An Update with a callback query pressed on a message the bot sent."""
        return {"callback_query": {
            "id": query_id or f"cq{next(self._update_ids)}", "from": user, "chat_instance": "ci1", "data": data,
            "message": self._message_json(message)}}

    def text_update(self, *, user: dict[str, Any], chat_id: int | str, text: str,
                    reply_to: FakeMessage | None = None, message_id: int | None = None) -> dict[str, Any]:
        """An Update with a text message from a user (optionally a reply to a bot message)."""
        msg: dict[str, Any] = {"message_id": message_id or 100000 + next(self._update_ids),
                               "date": int(time.time()), "chat": self.chat(chat_id), "from": user,
                               "text": text}
        if reply_to is not None:
            msg["reply_to_message"] = self._message_json(reply_to)
        return {"message": msg}

    # ---- queries for assertions ------------------------------------------------------------------
    def calls(self, method: str | None = None, *, outcome: str | None = "ok") -> list[Recorded]:
        """Recorded requests, optionally of one method and outcome (None: any outcome)."""
        return [r for r in self.requests
                if (method is None or r.method == method) and (outcome is None or r.outcome == outcome)]

    def sent(self, chat_id: int | str | None = None) -> list[FakeMessage]:
        """Messages accepted by sendMessage, oldest first, optionally for one chat."""
        return [m for m in self.messages.values() if chat_id is None or str(m.chat_id) == str(chat_id)]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """The original texts of the messages sent."""
        return [m.edits[0] if m.edits else m.text for m in self.sent(chat_id)]

    def message(self, chat_id: int | str, message_id: int) -> FakeMessage | None:
        """A sent message by chat and id."""
        return self.messages.get((str(chat_id), int(message_id)))

    async def wait_for_stalled(self, method: str, *, timeout: float = 10.0) -> Recorded:
        """Wait until a call of `method` is being held by a stall rule."""
        deadline = time.monotonic() + timeout
        while True:
            for rec in self.stalled:
                if rec.method == method:
                    return rec
            if time.monotonic() > deadline:
                raise AssertionError(f"no stalled {method} call")
            await asyncio.sleep(0.02)

    async def wait_for(self, method: str, count: int = 1, *, timeout: float = 10.0,
                       chat_id: int | str | None = None) -> list[Recorded]:
        """Wait until `count` successful calls of `method` (to `chat_id`) were received."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.calls(method)
                     if chat_id is None or str(r.params.get("chat_id")) == str(chat_id)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {count} {method} call(s), got {len(found)}")
            assert self._changed is not None
            self._changed.clear()
            await _wait_event(self._changed, min(remaining, 0.2))

    # ---- the HTTP side ---------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return {k: _decode(k, v) for k, v in request.query.items()}
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            return json.loads(raw) if raw else {}
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            return {k: _decode(k, v) if isinstance(v, str) else v for k, v in form.items()}
        raw = await request.read()
        return json.loads(raw) if raw.strip() else {}

    def _record(self, rec: Recorded) -> None:
        self.requests.append(rec)
        if self._changed is not None:
            self._changed.set()

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token_ok = request.match_info["token"] in (self.token, *self.other_tokens)
        try:
            params = await self._params(request)
        except ValueError:
            params = {}
        rec = Recorded(method, params, time.time(), token_ok)
        if not token_ok:
            rec.outcome = "unauthorized"
            self._record(rec)
            return self._error(401, "Unauthorized")
        if method not in _METHODS:
            rec.outcome = "unknown_method"
            self._record(rec)
            return self._error(404, "Not Found: method not found")
        stall = self._take_rule(method, "stall")
        if stall is not None:
            assert stall.release is not None
            self.stalled.append(rec)
            if self._changed is not None:
                self._changed.set()
            await _wait_event(stall.release, stall.seconds)
            self.stalled.remove(rec)
            if request.transport is None or request.transport.is_closing():
                rec.outcome = "abandoned"  # the client went away while stalled: not processed
                self._record(rec)
                return self._error(499, "Client Closed Request")
        rule = self._take_rule(method, "error", params.get("chat_id"))
        if rule is not None:
            rec.outcome = ("rate_limited" if rule.status == 429 else
                           "failed" if rule.status >= 500 else "rejected")
            self._record(rec)
            return self._error(rule.status, rule.description, rule.retry_after)
        if method == "sendMessage" and not self.pace.allow():
            rec.outcome = "rate_limited"
            self._record(rec)
            wait = self._pace_retry_after
            return self._error(429, f"Too Many Requests: retry after {wait}", wait)
        handler = getattr(self, f"_m_{method}")
        result = await handler(params)
        if isinstance(result, web.Response):
            rec.outcome = "rejected"
            self._record(rec)
            return result
        self._record(rec)
        return web.json_response({"ok": True, "result": result})

    def _message_json(self, msg: FakeMessage) -> dict[str, Any]:
        data: dict[str, Any] = {"message_id": msg.message_id, "date": msg.date, "chat": self.chat(msg.chat_id),
                                "from": self.bot_user, "text": msg.text}
        if msg.edits:
            data["edit_date"] = int(time.time())
        if msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        return data

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id in (None, "") or not text:
            return self._error(400, "Bad Request: chat_id and text are required")
        if len(str(text)) > 4096:
            return self._error(400, "Bad Request: message is too long")
        err = self._check_markup(params.get("reply_markup"))
        if err is not None:
            return err
        counter = self._message_ids.setdefault(str(chat_id), itertools.count(1))
        reply_to = params.get("reply_to_message_id") or (params.get("reply_parameters") or {}).get("message_id")
        msg = FakeMessage(next(counter), chat_id, str(text), params.get("reply_markup"), int(time.time()),
                          reply_to_message_id=reply_to)
        self.messages[(str(chat_id), msg.message_id)] = msg
        self.pace.accepted(str(chat_id))
        return self._message_json(msg)

    def _check_markup(self, markup: Any) -> web.Response | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            return self._error(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        return None

    def _target(self, params: dict[str, Any]) -> FakeMessage | web.Response:
        msg = self.messages.get((str(params.get("chat_id")), int(params.get("message_id") or 0)))
        if msg is None:
            return self._error(400, "Bad Request: message to edit not found")
        return msg

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        msg = self._target(params)
        if isinstance(msg, web.Response):
            return msg
        err = self._check_markup(params.get("reply_markup"))
        if err is not None:
            return err
        text, markup = str(params.get("text") or ""), params.get("reply_markup")
        if text == msg.text and markup == msg.reply_markup:
            return self._error(400, "Bad Request: message is not modified: specified new message content "
                                    "and reply markup are exactly the same as a current content and reply "
                                    "markup of the message")
        if not msg.edits:
            msg.edits.append(msg.text)
        msg.edits.append(text)
        msg.text, msg.reply_markup = text, markup
        return self._message_json(msg)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        msg = self._target(params)
        if isinstance(msg, web.Response):
            return msg
        markup = params.get("reply_markup")
        err = self._check_markup(markup)
        if err is not None:
            return err
        if markup == msg.reply_markup:
            return self._error(400, "Bad Request: message is not modified")
        msg.reply_markup = markup
        return self._message_json(msg)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            return self._error(400, "Bad Request: query is too old and response timeout expired or query ID "
                                    "is invalid")
        return True

    async def _m_getChatMember(self, params: dict[str, Any]) -> Any:
        user_id = int(params.get("user_id") or 0)
        status = self.members.get(str(params.get("chat_id")), {}).get(user_id, "left")
        member: dict[str, Any] = {"status": status, "user": self.user(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(dict.fromkeys(_ADMIN_RIGHTS, False), can_manage_chat=True, can_be_edited=False,
                          is_anonymous=False)
        elif status == "restricted":
            member.update(dict.fromkeys(_RESTRICTED_RIGHTS, True), is_member=True, until_date=0)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if self.webhook.get("url"):
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active")
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while True:
            ready = [u for u in self._updates if u["update_id"] >= offset][:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return ready
            self._new_update.clear()
            await _wait_event(self._new_update, remaining)

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url") or ""
        if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return self._error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {"url": url, "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates")}
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    async def _m_pinChatMessage(self, params: dict[str, Any]) -> Any:
        msg = self._target(params)
        if isinstance(msg, web.Response):
            return self._error(400, "Bad Request: message to pin not found")
        self.pinned[str(params.get("chat_id"))] = msg.message_id
        return True

    async def _m_logOut(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_close(self, params: dict[str, Any]) -> Any:
        return True
