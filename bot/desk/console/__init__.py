"""The web console: shared pages (`pages`), the counselors' cases (`cases`), the staff review queue (`review`)."""

from __future__ import annotations

from aiohttp import web

from bot.desk.console.cases import setup_cases
from bot.desk.console.pages import setup_pages
from bot.desk.console.review import setup_review


def setup_console(app: web.Application) -> None:
    """Mount every console route."""
    setup_pages(app)
    setup_cases(app)
    setup_review(app)
