"""Base of the fake platform servers: an aiohttp app on 127.0.0.1 at a free port."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class LoopbackServer:
    """Subclasses add their routes in `routes`; usable as `async with Fake() as fake:`."""

    client_max_size = 1024 * 1024

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        """Add the fake's routes to the application."""
        raise NotImplementedError

    async def _before_stop(self) -> None:
        """Release anything held (stalled requests) before the server stops."""

    async def start(self) -> Any:
        """Listen on 127.0.0.1 at a free port."""
        app = web.Application(client_max_size=self.client_max_size)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Release stalls and stop the server."""
        await self._before_stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Any:
        """Start the fake."""
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        """Stop the fake."""
        await self.stop()

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"
