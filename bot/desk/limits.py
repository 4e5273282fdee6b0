"""Request bodies the desk accepts: a Content-Length (no chunked upload) and no multipart form.

Guarantees: before a handler reads a body, a chunked request gets 411 and a multipart one 415. No desk page or
client sends either (forms are urlencoded, Telegram and the API send JSON with a length); refusing them keeps the
desk out of reach of aiohttp 3.9's chunk bookkeeping (GHSA-g84x-mcqj-x9qq, quadratic in the number of chunks) and
its per-field `client_max_size` count in `Request.post()` for multipart forms (CVE-2025-69228).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def body_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse chunked and multipart request bodies before anything reads them."""
    if "chunked" in request.headers.get(hdrs.TRANSFER_ENCODING, "").lower():
        raise web.HTTPLengthRequired(text="Content-Length required")
    if request.content_type.startswith("multipart/"):
        raise web.HTTPUnsupportedMediaType(text="multipart bodies are not accepted")
    return await handler(request)
