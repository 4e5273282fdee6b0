"""A stand-in for Rasa's HTTP server on 127.0.0.1, storing conversations in Rasa's real SQL tracker store.

It speaks the parts the desk and the hand-off use: the REST channel (`/webhooks/rest/webhook`),
appending events (`/conversations/<id>/tracker/events`, token required) and reading a tracker.
Events are parsed with Rasa's own `Event.from_parameters` and saved with `SQLTrackerStore`, so the
desk's transcript reader reads exactly what Rasa writes. Instead of a trained model it opens a case
(as the action server does) when a message contains an urgent word, and otherwise answers politely.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.cases.store import CaseRequest, CaseStore
from bot.senders import channel_of
from tests.fakes.loopback import LoopbackServer

URGENT_WORDS = ("cứu", "đánh", "nguy hiểm")


class FakeRasa(LoopbackServer):
    """Rasa's HTTP API for tests: REST channel, tracker events with token, real tracker store."""

    def __init__(self, token: str, tracker_db: str, case_engine: Engine) -> None:
        """`tracker_db` is a SQLite file path; cases go to `case_engine` like the action server's."""
        super().__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from rasa.core.tracker_store import SQLTrackerStore
            from rasa.shared.core.domain import Domain

            self.store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=tracker_db)
        self.token = token
        self.cases = CaseStore(case_engine)
        self.requests: list[tuple[str, str, Any]] = []
        self.rejected = 0
        self._lock = asyncio.Lock()

    def routes(self, app: web.Application) -> None:
        """The REST channel and the tracker endpoints."""
        app.router.add_post("/webhooks/rest/webhook", self._rest)
        app.router.add_post("/conversations/{cid:.+}/tracker/events", self._events)
        app.router.add_get("/conversations/{cid:.+}/tracker", self._tracker)

    @property
    def url(self) -> str:
        """Base URL (RASA_URL)."""
        return self.root_url

    async def tracker(self, sender_id: str) -> Any:
        """The DialogueStateTracker of a conversation (created when missing)."""
        return await self.store.get_or_create_tracker(sender_id)

    async def events_of(self, sender_id: str) -> list[dict[str, Any]]:
        """Every event of a conversation as Rasa serialises it."""
        tracker = await self.tracker(sender_id)
        return [e.as_dict() for e in tracker.events]

    async def is_paused(self, sender_id: str) -> bool:
        """True when the conversation is paused for a human."""
        return (await self.tracker(sender_id)).is_paused()

    def _authorised(self, request: web.Request) -> bool:
        return request.query.get("token") == self.token

    async def _events(self, request: web.Request) -> web.Response:
        from rasa.shared.core.events import Event

        cid = request.match_info["cid"]
        body = await request.json()
        self.requests.append(("events", cid, body))
        if not self._authorised(request):
            self.rejected += 1
            return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
        events = [Event.from_parameters(e) for e in (body if isinstance(body, list) else [body])]
        events = [e for e in events if e]
        if not events:
            return web.json_response({"status": "failure", "reason": "BadRequest"}, status=400)
        async with self._lock:
            tracker = await self.tracker(cid)
            for event in events:
                tracker.update(event)
            await self.store.save(tracker)
        return web.json_response({"sender_id": cid})

    async def _tracker(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"status": "failure"}, status=401)
        tracker = await self.tracker(request.match_info["cid"])
        return web.json_response({"sender_id": tracker.sender_id, "paused": tracker.is_paused(),
                                  "events": [e.as_dict() for e in tracker.events]})

    async def _rest(self, request: web.Request) -> web.Response:
        from rasa.shared.core.events import BotUttered, UserUttered

        body = await request.json()
        sender, text = str(body["sender"]), str(body["message"])
        self.requests.append(("rest", sender, body))
        async with self._lock:
            tracker = await self.tracker(sender)
            tracker.update(UserUttered(text))
            if tracker.is_paused():
                await self.store.save(tracker)
                return web.json_response([])
            if any(w in text.lower() for w in URGENT_WORDS):
                req = CaseRequest(channel=channel_of(sender), sender_id=sender, urgency="danger_now", message=text,
                                  reasons=("từ khoá nguy hiểm",))
                case, _ = await asyncio.to_thread(self.cases.open_case, req)
                reply = (f"Mình đã chuyển tin nhắn của bạn đến tư vấn viên (mã ca #{case.id}). "
                         "Nếu nguy hiểm, hãy gọi ngay 113.")
            else:
                reply = "Chào bạn, mình là trợ lý tự động."
            tracker.update(BotUttered(reply))
            await self.store.save(tracker)
        return web.json_response([{"recipient_id": sender, "text": reply}])
