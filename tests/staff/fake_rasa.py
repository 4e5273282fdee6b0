"""A fake Rasa HTTP API on 127.0.0.1 for fast deploy tests (the slow tests use a real Rasa server).

A "model file" here is a text file: "good" answers like a real model, "deaf" loads but never
recognises an urgent message; anything else fails to load (HTTP 400), as Rasa does for a broken file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

URGENT_WORDS = ("danh", "đánh", "cuu", "cứu")


class FakeRasa:
    """State and lifecycle of the fake server."""

    def __init__(self, token: str, loaded: str = "good") -> None:
        self.token, self.loaded, self.model_file = token, loaded, "current.tar.gz"
        self.requests: list[tuple[str, str, bool]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _reply(self, code: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urlparse(self.path)
                authed = parse_qs(url.query).get("token") == [fake.token]
                fake.requests.append((method, url.path, authed))
                if not authed:
                    return self._reply(401, {"message": "User is not authenticated."})
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                if method == "GET" and url.path == "/status":
                    return self._reply(200, {"model_file": fake.model_file, "fingerprint": {}})
                if method == "PUT" and url.path == "/model":
                    path = Path(body["model_file"])
                    kind = path.read_text(encoding="utf-8").strip() if path.exists() else ""
                    if kind not in ("good", "deaf"):
                        return self._reply(400, {"message": f"Agent with name '{path}' could not be loaded."})
                    fake.loaded, fake.model_file = kind, path.name
                    return self._reply(204)
                if method == "POST" and url.path == "/model/parse":
                    text = body["text"].lower()
                    urgent = fake.loaded == "good" and any(w in text for w in URGENT_WORDS)
                    return self._reply(200, {"text": body["text"], "intent": {
                        "name": "report_violence" if urgent else "faq", "confidence": 0.9}})
                return self._reply(404, {"message": "not found"})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the fake server."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"



@contextmanager
def serve(token: str) -> Iterator[FakeRasa]:
    """Run a fake Rasa server for the duration of a `with` block."""
    fake = FakeRasa(token)
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
