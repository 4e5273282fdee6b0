"""A fake Facebook Graph API (Messenger Send API) on 127.0.0.1 for tests.

Usage::

    async with FakeGraph(page_token="PAGE", version="v21.0") as graph:
        # FB_GRAPH_BASE_URL=graph.base_url, FB_GRAPH_VERSION=v21.0
        ...
        assert graph.delivered_texts("psid1") == ["Xin chào"]

`POST /<version>/me/messages?access_token=…` checks the version, the page token, the JSON body
(recipient.id, messaging_type RESPONSE / UPDATE / MESSAGE_TAG with a tag, text ≤ 2,000 characters,
≤ 13 quick replies with titles ≤ 20 characters) and answers `{"recipient_id", "message_id"}` or a
Graph error object. Failures can be injected: HTTP 500, rate limits (code 613), outside the 24-hour
window (code 10 / subcode 2018278) and stalls. Helpers build signed webhook payloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer
from tests.fakes.pacing import SendPace

MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
TAGS = {"HUMAN_AGENT", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"}


@dataclass
class GraphRequest:
    """One Send API request."""

    body: Any
    token: str | None
    version: str
    at: float
    outcome: str = "ok"


@dataclass
class _Rule:
    kind: str            # "http" | "graph" | "stall"
    times: int | None
    status: int = 500
    code: int = 0
    subcode: int | None = None
    seconds: float | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)


class FakeGraph(LoopbackServer):
    """The Messenger Send API with failure injection."""

    def __init__(self, *, page_token: str = "PAGE-TOKEN", version: str = "v21.0", page_id: str = "page-1") -> None:
        """The page token and Graph version the fake accepts."""
        self.page_token, self.version, self.page_id = page_token, version, page_id
        self.requests: list[GraphRequest] = []
        self.delivered: list[GraphRequest] = []
        self._rules: list[_Rule] = []
        self._stalled: list[_Rule] = []   # stall rules already taken, still holding requests
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.pace = SendPace()  # `limit_rate()`, `close_window()`; accepted messages per PSID in `pace.counts`

    client_max_size = 1024 * 1024

    def routes(self, app: web.Application) -> None:
        """The fake's endpoints."""
        app.router.add_post("/{version}/me/messages", self._messages)

    async def _before_stop(self) -> None:
        """Release stalled requests."""
        self.release()

    @property
    def base_url(self) -> str:
        """For FB_GRAPH_BASE_URL."""
        return self.root_url

    # ---- failure injection ----------------------------------------------------------------------------
    def fail_http(self, *, status: int = 500, times: int | None = 1) -> None:
        """Answer with an HTTP error and a generic Graph error body."""
        self._rules.append(_Rule("http", times, status=status))

    def rate_limit(self, *, times: int | None = 1) -> None:
        """Answer with code 613 (calls to this API exceeded the rate limit)."""
        self._rules.append(_Rule("graph", times, status=400, code=613))

    def outside_window(self, *, times: int | None = 1) -> None:
        """Answer with code 10 / subcode 2018278 (outside the allowed window)."""
        self._rules.append(_Rule("graph", times, status=400, code=10, subcode=2018278))

    def limit_rate(self, per_second: float | None) -> None:
        """Answer sends beyond `per_second` in any second with Graph error 613 (None: no limit)."""
        self.pace.limit(per_second)

    def close_window(self, psid: str) -> None:
        """Refuse every send to `psid` with code 10 / subcode 2018278 (the 24-hour window has closed)."""
        self.pace.closed.add(psid)

    def per_recipient(self) -> dict[str, int]:
        """How many messages were accepted per PSID."""
        return dict(self.pace.counts)

    def stall(self, *, seconds: float | None = None, times: int | None = 1) -> None:
        """Hold the next `times` calls for `seconds` or until release()."""
        self._rules.append(_Rule("stall", times, seconds=seconds))

    def release(self) -> None:
        """End every stall."""
        for rule in self._stalled:
            rule.release.set()
        self._stalled.clear()
        for rule in self._rules:
            rule.release.set()
        self._rules = [r for r in self._rules if r.kind != "stall"]

    def _take(self, kind: str) -> _Rule | None:
        for rule in list(self._rules):
            if rule.kind != kind:
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self._rules.remove(rule)
            return rule
        return None

    # ---- assertions -------------------------------------------------------------------------------------
    def delivered_texts(self, psid: str | None = None) -> list[str]:
        """Texts accepted for a PSID (or everyone)."""
        return [r.body["message"]["text"] for r in self.delivered
                if psid is None or r.body["recipient"]["id"] == psid]

    async def wait_delivered(self, count: int, *, psid: str | None = None, timeout: float = 10.0) -> list[str]:
        """Wait until `count` messages were accepted (for `psid`)."""
        deadline = time.monotonic() + timeout
        while len(self.delivered_texts(psid)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} deliveries, got {len(self.delivered_texts(psid))}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=0.1)
            except asyncio.TimeoutError:
                pass
        return self.delivered_texts(psid)

    # ---- endpoint ---------------------------------------------------------------------------------------
    @staticmethod
    def _error(status: int, message: str, code: int, subcode: int | None = None,
               kind: str = "OAuthException") -> web.Response:
        err: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "FAKE"}
        if subcode is not None:
            err["error_subcode"] = subcode
        return web.json_response({"error": err}, status=status)

    def _record(self, rec: GraphRequest) -> None:
        self.requests.append(rec)
        self._changed.set()

    async def _messages(self, request: web.Request) -> web.Response:
        version = request.match_info["version"]
        token = request.query.get("access_token")
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        rec = GraphRequest(body, token, version, time.time())
        stall = self._take("stall")
        if stall is not None:
            self._stalled.append(stall)
            try:
                await asyncio.wait_for(stall.release.wait(), timeout=stall.seconds)
            except asyncio.TimeoutError:
                pass
        if version != self.version:
            rec.outcome = "bad_version"
            self._record(rec)
            return self._error(400, "Unknown path components", 2500)
        if token != self.page_token:
            rec.outcome = "bad_token"
            self._record(rec)
            return self._error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        rule = self._take("http")
        if rule is not None:
            rec.outcome = f"http:{rule.status}"
            self._record(rec)
            return self._error(rule.status, "An unexpected error has occurred.", 2, kind="OAuthException")
        problem = _check_body(body)
        if problem:
            rec.outcome = "bad_body"
            self._record(rec)
            return self._error(400, f"(#100) {problem}", 100)
        graph = self._take("graph")
        if graph is not None:
            rec.outcome = f"graph:{graph.code}"
            self._record(rec)
            return self._error(graph.status, "failure injected", graph.code, graph.subcode)
        psid = str(body["recipient"]["id"])
        if psid in self.pace.closed:
            rec.outcome = "graph:10"
            self._record(rec)
            return self._error(400, "(#10) This message is sent outside of allowed window.", 10, 2018278)
        if not self.pace.allow():
            rec.outcome = "graph:613"
            self._record(rec)
            return self._error(400, "(#613) Calls to this api have exceeded the rate limit.", 613)
        self.delivered.append(rec)
        self.pace.accepted(psid)
        self._record(rec)
        return web.json_response({"recipient_id": body["recipient"]["id"], "message_id": f"m_{next(self._ids)}"})


def _check_body(body: Any) -> str | None:
    """What is wrong with a Send API body, or None."""
    if not isinstance(body, dict):
        return "body must be JSON"
    if not isinstance((body.get("recipient") or {}).get("id"), str):
        return "recipient.id is required"
    mtype = body.get("messaging_type")
    if mtype not in MESSAGING_TYPES:
        return "messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG"
    if mtype == "MESSAGE_TAG" and body.get("tag") not in TAGS:
        return "a valid tag is required with MESSAGE_TAG"
    if mtype != "MESSAGE_TAG" and "tag" in body:
        return "tag is only allowed with MESSAGE_TAG"
    message = body.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("text"), str) or not message["text"]:
        return "message.text is required"
    if len(message["text"]) > 2000:
        return "param message[text] must be at most 2000 characters"
    quick = message.get("quick_replies")
    if quick is not None:
        if not isinstance(quick, list) or len(quick) > 13:
            return "at most 13 quick replies"
        for q in quick:
            if q.get("content_type") != "text" or not q.get("title") or len(q["title"]) > 20 or not q.get("payload"):
                return "quick reply needs content_type text, a title ≤ 20 characters and a payload"
    return None


# ---- webhook payloads as Messenger sends them --------------------------------------------------------------

_mids = itertools.count(1)


def signature(app_secret: str, raw: bytes) -> str:
    """The X-Hub-Signature-256 header value."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def text_event(psid: str, text: str, *, mid: str | None = None, page_id: str = "page-1") -> dict[str, Any]:
    """A `messaging` event with a text message."""
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": int(time.time() * 1000),
            "message": {"mid": mid or f"m_in{next(_mids)}", "text": text}}


def quick_reply_event(psid: str, title: str, payload: str, *, mid: str | None = None) -> dict[str, Any]:
    """A tap on a quick reply."""
    ev = text_event(psid, title, mid=mid)
    ev["message"]["quick_reply"] = {"payload": payload}
    return ev


def postback_event(psid: str, payload: str, *, title: str = "Bắt đầu", mid: str | None = None) -> dict[str, Any]:
    """A tap on a postback button (Get Started, persistent menu…)."""
    return {"sender": {"id": psid}, "recipient": {"id": "page-1"}, "timestamp": int(time.time() * 1000),
            "postback": {"mid": mid or f"m_pb{next(_mids)}", "title": title, "payload": payload}}


def attachment_event(psid: str, kind: str, *, mid: str | None = None) -> dict[str, Any]:
    """A message with one attachment (image, audio, video, file, location, fallback…)."""
    payload: dict[str, Any] = {"url": f"https://example.invalid/{kind}"}
    if kind == "location":
        payload = {"coordinates": {"lat": 10.76, "long": 106.66}}
    return {"sender": {"id": psid}, "recipient": {"id": "page-1"}, "timestamp": int(time.time() * 1000),
            "message": {"mid": mid or f"m_at{next(_mids)}", "attachments": [{"type": kind, "payload": payload}]}}


def echo_event(psid: str, text: str) -> dict[str, Any]:
    """The page's own message echoed back (`is_echo`)."""
    return {"sender": {"id": "page-1"}, "recipient": {"id": psid}, "timestamp": int(time.time() * 1000),
            "message": {"mid": f"m_echo{next(_mids)}", "text": text, "is_echo": True, "app_id": 1}}


def read_event(psid: str) -> dict[str, Any]:
    """A read receipt."""
    return {"sender": {"id": psid}, "recipient": {"id": "page-1"}, "timestamp": int(time.time() * 1000),
            "read": {"watermark": int(time.time() * 1000)}}


def payload(*entries: list[dict[str, Any]] | dict[str, Any]) -> dict[str, Any]:
    """`{"object": "page", "entry": [...]}`; a list becomes an entry's `messaging`, a dict is an entry as is."""
    out = []
    for i, entry in enumerate(entries):
        if isinstance(entry, list):
            out.append({"id": "page-1", "time": int(time.time() * 1000) + i, "messaging": entry})
        else:
            out.append(entry)
    return {"object": "page", "entry": out}


def signed(body: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of a correctly signed delivery."""
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return raw, {"X-Hub-Signature-256": signature(app_secret, raw), "Content-Type": "application/json"}
