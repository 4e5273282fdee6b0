"""Rasa's REST channel with the safety net: an urgent message always gets the hotline reply and a case.

The reply body is Rasa's own; the urgency verdict, the "answered with a case" test (the case marker,
else a case row for the message) and the hotline reply are the platform channels' (`bot.channels.turn`,
`bot.channels.safety_net`). A conversation a counselor owns gets no safety reply.

The body is unauthenticated, so: senders live in their own `rest:` namespace and must be given (400
otherwise, never Rasa's shared `default`); client `input_channel` and `metadata` are ignored; the text
is cut to `MAX_MESSAGE_CHARS` (beginning and end kept) and read as words, never as `/intent` syntax.
The route is this module's own, not Rasa's, so no log line carries the resident's text, and a turn
whose client went away still finishes (its case is opened). REST_CHANNEL=off mounts nothing (404).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.channels.base import MAX_BODY
from bot.channels.collector import MarkingCollector
from bot.channels.intake import bound_text, clean, neutralise
from bot.channels.items import BotReply
from bot.channels.safety_net import case_opened_for, owned_by_counselor, safety_reply
from bot.channels.settings import rest_channel_setting
from bot.channels.turn import safety_net_needed
from bot.config import load_dotenv
from bot.content.library import Library
from bot.replies import urgent_reply
from bot.runtime import Runtime, process_runtime
from bot.senders import make_sender
from bot.triage import assess

log = logging.getLogger(__name__)
TURN_TIMEOUT_S = 20.0
MAX_SENDER_CHARS = 128
# What a REST client is told when its request is refused (Vietnamese: a web chat may show it).
NO_SENDER = "Thiếu mã người gửi (sender): mỗi cuộc trò chuyện cần một mã riêng, không để trống."
LONG_SENDER = f"Mã người gửi (sender) quá dài: tối đa {MAX_SENDER_CHARS} ký tự."
BAD_JSON = "Nội dung yêu cầu phải là một đối tượng JSON hợp lệ."
BAD_MESSAGE = "Trường message phải là một chuỗi văn bản."
TOO_LARGE = "Nội dung yêu cầu quá lớn."


class RestRequestError(Exception):
    """A REST request to refuse with a 4xx status and a Vietnamese message."""

    def __init__(self, status: int, message: str, text: str = "") -> None:
        """`message` is shown to the caller (never the resident's text); `text` is what she wrote, if readable."""
        super().__init__(message)
        self.status, self.message, self.text = status, message, text


def parse_rest_body(raw: bytes) -> tuple[str, str]:
    """(sender as given, the text Rasa reads) from a REST body, or RestRequestError."""
    if len(raw) > MAX_BODY:
        raise RestRequestError(413, TOO_LARGE)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RestRequestError(400, BAD_JSON) from None
    if not isinstance(body, dict):
        raise RestRequestError(400, BAD_JSON)
    text = body.get("message")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise RestRequestError(400, BAD_MESSAGE)
    text = neutralise(bound_text(clean(text)))
    sender = body.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if isinstance(sender, str):
        sender = clean(sender)
    if not isinstance(sender, str) or not sender.strip():
        raise RestRequestError(400, NO_SENDER, text)
    if len(sender) > MAX_SENDER_CHARS:
        raise RestRequestError(400, LONG_SENDER, text)
    return sender, text


def refusal_hotline(library: Library, text: str) -> str | None:
    """The hotline reply (no case: there is no conversation to open it in) for an urgent message refused."""
    verdict = assess(text)
    if not verdict.urgent:
        return None
    return urgent_reply(verdict, library, library.provinces.find(text), None, False)


async def guarded_turn(message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                       rt: Runtime, timeout: float = TURN_TIMEOUT_S) -> None:
    """Run the assistant on a REST message, then add the hotline reply if the policy asks for it."""
    verdict = assess(message.text or "")
    collector = message.output_channel
    if isinstance(collector, CollectingOutputChannel) and isinstance(collector.messages, list):
        collector = message.output_channel = MarkingCollector(collector.messages)
    try:
        await asyncio.wait_for(on_new_message(message), timeout=timeout)
    except Exception as exc:  # the traceback may quote the message: type only, details at debug
        log.error("assistant failed on a REST message: %s", type(exc).__name__)
        log.debug("REST assistant failure", exc_info=True)
    if not isinstance(collector, CollectingOutputChannel):
        return
    # Streamed (?stream=true): the replies are gone already; the case row tells whether one was opened.
    streamed = not isinstance(collector.messages, list)
    texts = ["…"] if streamed else [m.get("text") or "" for m in collector.messages]
    reply = BotReply(tuple((t, None) for t in texts), getattr(collector, "case_marked", False))

    async def case_exists(message_id: str) -> bool:
        return await asyncio.to_thread(case_opened_for, rt.engine, message_id)

    if not await safety_net_needed(verdict, reply, message.message_id, case_exists):
        return
    if await asyncio.to_thread(owned_by_counselor, rt.engine, message.sender_id):
        return
    extra = await asyncio.to_thread(safety_reply, rt.library, rt.store, message.sender_id, message.text or "",
                                    verdict, message.message_id)
    await collector.send_text_message(message.sender_id, extra)


class SafeRestInput(RestInput):
    """`POST /webhooks/rest/webhook`: Rasa's REST contract, with the safety net and the checks above."""

    def __init__(self, enabled: bool = True) -> None:
        """`enabled` False mounts nothing (REST_CHANNEL=off)."""
        self.enabled = enabled
        self._turns: set[asyncio.Task] = set()  # turns whose client went away, finishing in the background

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SafeRestInput:
        """Mounted unless REST_CHANNEL (environment, `.env`, or credentials.yml) says off."""
        load_dotenv()
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (credentials or {}).items() if v not in (None, "")})
        enabled, why = rest_channel_setting(env)
        if not enabled:
            log.info("rest channel not mounted: %s", why)
        return cls(enabled)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """GET / and POST /webhook with the safety net (the runtime is built at start); nothing when switched off."""
        bp = Blueprint("rest_resident_webhook", __name__)
        if not self.enabled:
            return bp

        async def guarded(message: UserMessage) -> None:
            try:
                await guarded_turn(message, on_new_message, process_runtime())
            except Exception as exc:  # never Rasa's handler: it logs the resident's text
                log.error("REST turn failed: %s", type(exc).__name__)

        async def build_runtime(app: Any, loop: Any = None) -> None:
            """The process runtime is built before the first message, not on it."""
            await asyncio.to_thread(process_runtime)

        async def health(request: Request) -> HTTPResponse:
            """GET /webhooks/rest/: the channel is mounted."""
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse | ResponseStream:
            """POST /webhooks/rest/webhook."""
            return await self._receive(request, guarded)

        bp.add_route(health, "/", methods=["GET"])
        bp.add_route(receive, "/webhook", methods=["POST"])
        bp.listener("before_server_start")(build_runtime)
        return bp

    async def _receive(self, request: Request,
                       guarded: Callable[[UserMessage], Awaitable[None]]) -> HTTPResponse | ResponseStream:
        try:
            given, text = parse_rest_body(request.body or b"")
        except RestRequestError as exc:
            return await self._refuse(exc)
        sender = make_sender(self.name(), given)
        if str(request.args.get("stream", "false")).lower() == "true":  # as Rasa reads it
            return response.stream(self.stream_response(guarded, text, sender, self.name(), None),
                                   content_type="text/event-stream")
        collector = CollectingOutputChannel()
        task = asyncio.ensure_future(guarded(UserMessage(text, collector, sender, input_channel=self.name())))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)
        try:
            await asyncio.shield(task)  # a client that goes away does not cancel the turn (nor its case)
        except asyncio.CancelledError:
            log.warning("REST request cancelled before its reply; the turn finishes in the background")
            raise
        return response.json(collector.messages)

    @staticmethod
    async def _refuse(exc: RestRequestError) -> HTTPResponse:
        """The 4xx answer; an urgent message refused still gets the numbers (a refusal never costs her them)."""
        refusal: dict[str, Any] = {"error": exc.message}
        if exc.text:
            try:
                library = (await asyncio.to_thread(process_runtime)).library
                hotline = await asyncio.to_thread(refusal_hotline, library, exc.text)
            except Exception as err:
                log.error("hotline for a refused REST request failed: %s", type(err).__name__)
                hotline = None
            if hotline:
                refusal["hotline"] = hotline
        return response.json(refusal, status=exc.status)
