"""The whole schema: importing this module registers every table; `init_db` creates them.

Only entry points (the runtime builder, command-line tools) and tests import it.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

import bot.cases.models
import bot.channels.models
import bot.desk.models
import bot.outbox.models
import bot.privacy
import bot.review_queue
import bot.sending.models  # noqa: F401
from bot.db.base import Base


def init_db(engine: Engine) -> None:
    """Create every table of the project (idempotent)."""
    Base.metadata.create_all(engine)
