"""The web console: shared pages (`pages`), the counselors' queue (`queue`) and cases (`cases`), the staff review
queue (`review`), the case tools (`case_tools`), saved replies (`saved_replies`), and hours, roster and hand-over (`roster`)."""

from __future__ import annotations

from aiohttp import web

from bot.desk.console.broadcasts import setup_broadcasts
from bot.desk.console.case_tools import setup_case_tools
from bot.desk.console.cases import setup_cases
from bot.desk.console.pages import setup_pages
from bot.desk.console.queue import setup_queue
from bot.desk.console.report import setup_report
from bot.desk.console.review import setup_review
from bot.desk.console.roster import setup_roster
from bot.desk.console.saved_replies import setup_saved_replies


def setup_console(app: web.Application) -> None:
    """Mount every console route."""
    setup_pages(app)
    setup_queue(app)
    setup_cases(app)
    setup_review(app)
    setup_roster(app)
    setup_saved_replies(app)
    setup_case_tools(app)
    setup_broadcasts(app)
    setup_report(app)
