"""A fake Zalo OA API (openapi.zalo.me + oauth.zaloapp.com) on 127.0.0.1 for tests.

Usage::

    async with FakeZalo(app_id="app1", app_secret="s3cret") as zalo:
        # point ZALO_API_BASE_URL and ZALO_OAUTH_BASE_URL at zalo.base_url
        ...
        assert zalo.delivered_texts("123") == ["Xin chào"]

It serves `POST /v3.0/oa/message/cs` (checks the `access_token` header, the JSON body shape and the
2,000-character limit; answers with Zalo's `{"error": <code>, "message": …}` envelope, HTTP 200 even on
errors) and `POST /v4/oa/access_token` (checks `secret_key`, the form fields and that the refresh token
has not been used: refresh tokens are single-use). Failures can be injected per endpoint: HTTP 500,
Zalo error codes (-32 rate limit, -216 expired token, -230/-232 outside the window), and stalls; a
stalled request whose client went away meanwhile is not delivered. Every request is recorded.
Helpers build webhook events as Zalo documents them and sign them with X-ZEvent-Signature.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer
from tests.fakes.pacing import SendPace

SEND_PATH = "/v3.0/oa/message/cs"
OAUTH_PATH = "/v4/oa/access_token"
MAX_TEXT = 2000


@dataclass
class ZaloRequest:
    """One request the fake received."""

    path: str
    token: str | None
    body: Any
    at: float
    outcome: str = "ok"  # ok | error:<code> | http:<status> | dropped | bad_request


@dataclass
class _Rule:
    kind: str                     # "http" | "code" | "stall"
    times: int | None
    status: int = 500
    code: int = 0
    seconds: float | None = None
    skip: int = 0                 # stall: let this many calls through first
    release: asyncio.Event = field(default_factory=asyncio.Event)


class FakeZalo(LoopbackServer):
    """The Zalo OA send API and OAuth token endpoint, with failure injection."""

    def __init__(self, *, app_id: str = "zalo-app", app_secret: str = "zalo-app-secret",
                 access_token: str = "AT-1", refresh_token: str = "RT-1", oa_id: str = "oa-1") -> None:
        """The tokens given are the valid initial pair."""
        super().__init__()
        self.app_id, self.app_secret, self.oa_id = app_id, app_secret, oa_id
        self.valid_access = {access_token}
        self.valid_refresh = {refresh_token}
        self.used_refresh: set[str] = set()
        self.requests: list[ZaloRequest] = []
        self.delivered: list[tuple[str, str]] = []       # (user_id, text)
        self.refresh_calls: list[ZaloRequest] = []
        self.refresh_delay = 0.0
        self.accept_refreshed = True   # False: tokens issued by a refresh are refused too (-216)
        self.on_send: Callable[[str, dict[str, Any]], None] | None = None
        self.arrivals = 0              # send requests received, including ones still stalled
        self._rules: dict[str, list[_Rule]] = {}
        self._stalled: list[_Rule] = []   # stall rules already taken, still holding requests
        self._counter = itertools.count(2)
        self._changed = asyncio.Event()
        self._expired_waiters = 0
        self._expired_barrier: int | None = None
        self._barrier_event = asyncio.Event()
        self.pace = SendPace()  # `limit_rate()`, `close_window()`; accepted messages per user in `pace.counts`

    # ---- lifecycle ----------------------------------------------------------------------------------
    client_max_size = 4 * 1024 * 1024

    def routes(self, app: web.Application) -> None:
        """The fake's endpoints."""
        app.router.add_post(SEND_PATH, self._send)
        app.router.add_post(OAUTH_PATH, self._oauth)

    async def _before_stop(self) -> None:
        """Release stalled requests."""
        self.release()
        self._barrier_event.set()

    @property
    def base_url(self) -> str:
        """For ZALO_API_BASE_URL and ZALO_OAUTH_BASE_URL."""
        return self.root_url

    # ---- failure injection -----------------------------------------------------------------------------
    def fail_http(self, endpoint: str = "send", *, status: int = 500, times: int | None = 1) -> None:
        """Answer the next `times` calls with an HTTP error status."""
        self._rules.setdefault(endpoint, []).append(_Rule("http", times, status=status))

    def fail_code(self, code: int, *, times: int | None = 1) -> None:
        """Answer the next `times` sends with HTTP 200 and `{"error": code}` (-32, -230, -232…)."""
        self._rules.setdefault("send", []).append(_Rule("code", times, code=code))

    def limit_rate(self, per_second: float | None) -> None:
        """Answer sends beyond `per_second` in any second with error -32 (None: no limit)."""
        self.pace.limit(per_second)

    def close_window(self, user_id: str) -> None:
        """Refuse every send to `user_id` with error -230 (outside the consultation window)."""
        self.pace.closed.add(user_id)

    def per_recipient(self) -> dict[str, int]:
        """How many messages were accepted per user."""
        return dict(self.pace.counts)

    def stall(self, endpoint: str = "send", *, seconds: float | None = None, times: int | None = 1,
              after: int = 0) -> None:
        """Hold calls for `seconds` or until release(); `after` lets that many calls through first."""
        rule = _Rule("stall", times, seconds=seconds, skip=after)
        self._rules.setdefault(endpoint, []).append(rule)

    def release(self) -> None:
        """End every stall."""
        for rule in self._stalled:
            rule.release.set()
        self._stalled.clear()
        for rules in self._rules.values():
            for rule in rules:
                if rule.kind == "stall":
                    rule.release.set()
            rules[:] = [r for r in rules if r.kind != "stall"]

    def expire_token(self, token: str | None = None) -> None:
        """Make an access token (default: every current one) invalid: sends answer -216."""
        if token is None:
            self.valid_access.clear()
        else:
            self.valid_access.discard(token)

    def hold_expired_until(self, count: int) -> None:
        """Hold -216 answers until `count` requests with an invalid token arrived (to make workers race)."""
        self._expired_barrier = count

    def _take(self, endpoint: str, kind: str) -> _Rule | None:
        for rule in list(self._rules.get(endpoint, [])):
            if rule.kind != kind:
                continue
            if kind == "stall" and rule.skip > 0:
                rule.skip -= 1
                return None
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self._rules[endpoint].remove(rule)
            return rule
        return None

    # ---- assertions ------------------------------------------------------------------------------------
    def delivered_texts(self, user_id: str | None = None) -> list[str]:
        """Texts accepted for a user (or everyone), oldest first."""
        return [t for u, t in self.delivered if user_id is None or u == user_id]

    def sends(self, outcome: str | None = None) -> list[ZaloRequest]:
        """Send requests, optionally with one outcome."""
        return [r for r in self.requests if r.path == SEND_PATH and (outcome is None or r.outcome == outcome)]

    async def wait_delivered(self, count: int, *, user_id: str | None = None, timeout: float = 10.0) -> list[str]:
        """Wait until `count` texts were delivered (to `user_id`)."""
        return await self._wait(lambda: len(self.delivered_texts(user_id)) >= count, timeout,
                                lambda: f"expected {count} deliveries, got {len(self.delivered_texts(user_id))}",
                                lambda: self.delivered_texts(user_id))

    async def wait_arrivals(self, count: int, *, timeout: float = 10.0) -> None:
        """Wait until `count` send requests arrived (answered or still stalled)."""
        await self._wait(lambda: self.arrivals >= count, timeout,
                         lambda: f"expected {count} send requests, got {self.arrivals}", lambda: None)

    async def _wait(self, ok: Callable[[], bool], timeout: float, why: Callable[[], str],
                    result: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + timeout
        while not ok():
            if time.monotonic() > deadline:
                raise AssertionError(why())
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=0.1)
            except asyncio.TimeoutError:
                pass
        return result()

    def _record(self, rec: ZaloRequest) -> None:
        self.requests.append(rec)
        self._changed.set()

    # ---- endpoints -------------------------------------------------------------------------------------
    async def _send(self, request: web.Request) -> web.Response:
        token = request.headers.get("access_token")
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        rec = ZaloRequest(SEND_PATH, token, body, time.time())
        self.arrivals += 1
        self._changed.set()
        stall = self._take("send", "stall")
        if stall is not None:
            self._stalled.append(stall)
            try:
                await asyncio.wait_for(stall.release.wait(), timeout=stall.seconds)
            except asyncio.TimeoutError:
                pass
            except asyncio.CancelledError:  # aiohttp cancelled the handler: the client went away
                rec.outcome = "dropped"
                self._record(rec)
                raise
            if request.transport is None or request.transport.is_closing():
                rec.outcome = "dropped"  # the client went away: nothing was delivered
                self._record(rec)
                return web.json_response({"error": -1, "message": "dropped"})
        rule = self._take("send", "http")
        if rule is not None:
            rec.outcome = f"http:{rule.status}"
            self._record(rec)
            return web.json_response({"message": "server error"}, status=rule.status)
        if request.content_type != "application/json" or not _valid_send_body(body):
            rec.outcome = "error:-201"
            self._record(rec)
            return web.json_response({"error": -201, "message": "Parameters are invalid"})
        if token not in self.valid_access:
            self._expired_waiters += 1
            if self._expired_barrier is not None:
                if self._expired_waiters >= self._expired_barrier:
                    self._barrier_event.set()
                try:
                    await asyncio.wait_for(self._barrier_event.wait(), timeout=10)
                except asyncio.TimeoutError:
                    pass
            rec.outcome = "error:-216"
            self._record(rec)
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        coded = self._take("send", "code")
        if coded is not None:
            rec.outcome = f"error:{coded.code}"
            self._record(rec)
            return web.json_response({"error": coded.code, "message": "failure injected"})
        user_id, text = body["recipient"]["user_id"], body["message"]["text"]
        if str(user_id) in self.pace.closed:
            rec.outcome = "error:-230"
            self._record(rec)
            return web.json_response({"error": -230, "message": "Outside the consultation window"})
        if not self.pace.allow():
            rec.outcome = "error:-32"
            self._record(rec)
            return web.json_response({"error": -32, "message": "Exceeded rate limit"})
        if self.on_send is not None:
            self.on_send(token, body)
        self.delivered.append((user_id, text))
        self.pace.accepted(str(user_id))
        self._record(rec)
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": f"mid{next(self._counter)}", "user_id": user_id}})

    async def _oauth(self, request: web.Request) -> web.Response:
        form = await request.post() if request.content_type == "application/x-www-form-urlencoded" else {}
        rec = ZaloRequest(OAUTH_PATH, None, dict(form), time.time())
        self.refresh_calls.append(rec)
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        rule = self._take("oauth", "http")
        if rule is not None:
            rec.outcome = f"http:{rule.status}"
            self._record(rec)
            return web.json_response({"error": -1, "message": "server error"}, status=rule.status)
        if request.headers.get("secret_key") != self.app_secret:
            rec.outcome = "error:-14002"
            self._record(rec)
            return web.json_response({"error": -14002, "error_name": "Invalid secret key",
                                      "error_description": "secret_key is invalid"}, status=400)
        if (form.get("grant_type") != "refresh_token" or form.get("app_id") != self.app_id
                or not form.get("refresh_token")):
            rec.outcome = "bad_request"
            self._record(rec)
            return web.json_response({"error": -14003, "error_name": "Invalid parameter"}, status=400)
        old = str(form["refresh_token"])
        if old not in self.valid_refresh:
            rec.outcome = "error:-14014"
            self._record(rec)
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token",
                                      "error_description": "Refresh token is invalid or already used"})
        n = next(self._counter)
        self.valid_refresh.discard(old)
        self.used_refresh.add(old)
        access, refresh = f"AT-{n}", f"RT-{n}"
        self.valid_access = {access} if self.accept_refreshed else set()  # the previous one stops working
        self.valid_refresh.add(refresh)
        self._record(rec)
        return web.json_response({"access_token": access, "refresh_token": refresh, "expires_in": "90000"})


def _valid_send_body(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    recipient, message = body.get("recipient"), body.get("message")
    if not isinstance(recipient, dict) or not isinstance(recipient.get("user_id"), str):
        return False
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return False
    return 0 < len(message["text"]) <= MAX_TEXT


# ---- webhook events as Zalo sends them ------------------------------------------------------------------

_msg_ids = itertools.count(1)


def sign(app_id: str, raw: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The X-ZEvent-Signature header value: `mac=` + sha256(app_id + body + timestamp + OA secret key)."""
    digest = hashlib.sha256(app_id.encode("utf-8", "surrogatepass") + raw + timestamp.encode("utf-8", "surrogatepass")
                            + oa_secret_key.encode()).hexdigest()
    return f"mac={digest}"


def event(app_id: str, event_name: str, *, user_id: str = "u1", message: dict[str, Any] | None = None,
          timestamp: str | None = None, oa_id: str = "oa-1", **extra: Any) -> dict[str, Any]:
    """A webhook event with the documented envelope."""
    body: dict[str, Any] = {"app_id": app_id, "user_id_by_app": f"app-{user_id}", "event_name": event_name,
                            "timestamp": timestamp or str(int(time.time() * 1000))}
    if event_name in ("follow", "unfollow"):
        body.update(oa_id=oa_id, source="oa_profile", follower={"id": user_id})
    else:
        body.update(sender={"id": user_id}, recipient={"id": oa_id})
        if message is not None:
            body["message"] = message
    body.update(extra)
    return body


def text_event(app_id: str, user_id: str, text: str, *, msg_id: str | None = None,
               timestamp: str | None = None) -> dict[str, Any]:
    """`user_send_text`."""
    return event(app_id, "user_send_text", user_id=user_id, timestamp=timestamp,
                 message={"msg_id": msg_id or f"msg{next(_msg_ids)}", "text": text})


def attachment_event(app_id: str, user_id: str, kind: str, *, msg_id: str | None = None,
                     text: str = "") -> dict[str, Any]:
    """`user_send_<kind>` with one attachment (location: coordinates)."""
    payload: dict[str, Any] = {"url": f"https://example.invalid/{kind}", "thumbnail": ""}
    if kind == "location":
        payload = {"coordinates": {"latitude": "10.76", "longitude": "106.66"}}
    message: dict[str, Any] = {"msg_id": msg_id or f"msg{next(_msg_ids)}",
                               "attachments": [{"type": kind, "payload": payload}]}
    if text:
        message["text"] = text
    return event(app_id, f"user_send_{kind}", user_id=user_id, message=message)


def signed(body: dict[str, Any], oa_secret_key: str, *, app_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of a correctly signed delivery."""
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    sig = sign(app_id or str(body.get("app_id", "")), raw, str(body.get("timestamp", "")), oa_secret_key)
    return raw, {"X-ZEvent-Signature": sig, "Content-Type": "application/json"}
