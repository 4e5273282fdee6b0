"""The whole schema: importing this module registers every table; `init_db` creates them.

Only entry points (the runtime builder, command-line tools) and tests import it. A database made by an
older version gets the tables, columns and indexes it lacks: a new column must be nullable or have a
`server_default`, so that adding it never rewrites or loses a row.
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateColumn

import bot.cases.models
import bot.cases.shifts
import bot.channels.models
import bot.desk.models
import bot.outbox.models
import bot.outreach.models
import bot.privacy
import bot.review_queue
import bot.sending.models  # noqa: F401
from bot.db.base import Base


def init_db(engine: Engine) -> None:
    """Create every table of the project and add the columns and indexes an older database lacks (idempotent)."""
    Base.metadata.create_all(engine)
    _add_missing_columns(engine)


def _add_missing_columns(engine: Engine) -> None:
    existing = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                if not column.nullable and column.server_default is None:
                    raise RuntimeError(f"{table.name}.{column.name} is new and NOT NULL without a server_default")
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")
            for index in table.indexes:
                index.create(conn, checkfirst=True)
