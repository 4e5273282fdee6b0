"""The one fake of Rasa's HTTP server on 127.0.0.1, for the desk, the hand-off and the model deploy tests.

Conversations (given a tracker file and the project database): the REST channel
(`/webhooks/rest/webhook`), appending events (`/conversations/<id>/tracker/events`, token required)
and reading a tracker. Events are parsed with Rasa's own `Event.from_parameters` and saved with
`SQLTrackerStore`, so the desk's transcript reader reads exactly what Rasa writes. Instead of a trained
model it opens a case (as the action server does) when a message contains an urgent word.

Models (token required): `GET /status`, `PUT /model`, `POST /model/parse`. A "model file" is a text
file: "good" answers like a real model, "deaf" loads but never recognises an urgent message; anything
else fails to load (HTTP 400), as Rasa does for a broken file.

`async with FakeRasa(...)` runs it in the test's loop; `serve(token)` runs it in a thread of its own for
synchronous callers (the deploy tool uses `requests`).
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.cases.store import CaseRequest, CaseStore
from bot.senders import channel_of
from tests.fakes.loopback import LoopbackServer

URGENT_WORDS = ("cứu", "đánh", "nguy hiểm")
MODEL_URGENT_WORDS = ("danh", "đánh", "cuu", "cứu")


class FakeRasa(LoopbackServer):
    """Rasa's HTTP API for tests; every request is kept as (method, path, authorised)."""

    def __init__(self, token: str, tracker_db: str | None = None, case_engine: Engine | None = None,
                 loaded: str = "good") -> None:
        """Without `tracker_db` only the model endpoints answer; cases go to `case_engine` like the action server's."""
        super().__init__()
        self.token, self.loaded, self.model_file = token, loaded, "current.tar.gz"
        self.store: Any = None
        if tracker_db is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from rasa.core.tracker_store import SQLTrackerStore
                from rasa.shared.core.domain import Domain

                self.store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=tracker_db)
        self.cases = CaseStore(case_engine) if case_engine is not None else None
        self.requests: list[tuple[str, str, bool]] = []
        self.rejected = 0
        self._lock = asyncio.Lock()

    def routes(self, app: web.Application) -> None:
        """The REST channel, the tracker endpoints and the model endpoints."""
        app.middlewares.append(self._record)
        app.router.add_post("/webhooks/rest/webhook", self._rest)
        app.router.add_post("/conversations/{cid:.+}/tracker/events", self._events)
        app.router.add_get("/conversations/{cid:.+}/tracker", self._tracker)
        app.router.add_get("/status", self._status)
        app.router.add_put("/model", self._put_model)
        app.router.add_post("/model/parse", self._parse)

    @property
    def url(self) -> str:
        """Base URL (RASA_URL)."""
        return self.root_url

    # ---- conversations -----------------------------------------------------------------------------
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

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path, self._authorised(request)))
        return await handler(request)

    async def _events(self, request: web.Request) -> web.Response:
        from rasa.shared.core.events import Event

        cid = request.match_info["cid"]
        body = await request.json()
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

    # ---- models ------------------------------------------------------------------------------------
    def _refused(self) -> web.Response:
        return web.json_response({"message": "User is not authenticated."}, status=401)

    async def _status(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refused()
        return web.json_response({"model_file": self.model_file, "fingerprint": {}})

    async def _put_model(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refused()
        path = Path((await request.json())["model_file"])
        kind = path.read_text(encoding="utf-8").strip() if path.exists() else ""
        if kind not in ("good", "deaf"):
            return web.json_response({"message": f"Agent with name '{path}' could not be loaded."}, status=400)
        self.loaded, self.model_file = kind, path.name
        return web.Response(status=204)

    async def _parse(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refused()
        text = str((await request.json())["text"])
        urgent = self.loaded == "good" and any(w in text.lower() for w in MODEL_URGENT_WORDS)
        return web.json_response({"text": text, "intent": {"name": "report_violence" if urgent else "faq",
                                                           "confidence": 0.9}})


@contextmanager
def serve(token: str) -> Iterator[FakeRasa]:
    """Run a fake Rasa (model endpoints) in a thread of its own for the duration of a `with` block."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeRasa(token)
    try:
        asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
