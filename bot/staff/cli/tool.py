"""What every staff command runs with: paths, input and output, today's date and the database, all injectable."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from bot.config import CONTENT_DIR, ROOT
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.staff.sheets import parse_date
from bot.timeutil import today_vn


def parse_day(text: str) -> date:
    """An argparse type: a date as YYYY-MM-DD (or 22/11/2026), with a bilingual error."""
    parsed = parse_date(text)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"ngày không hợp lệ / invalid date: {text} (YYYY-MM-DD)")
    return parsed


class Tool:
    """Runs one command; paths, input and output are injectable for tests."""

    def __init__(self, root: Path = ROOT, content_dir: Path = CONTENT_DIR, out: TextIO | None = None,
                 err: TextIO | None = None, ask: Callable[[str], str] = input, today: date | None = None,
                 engine: Any = None) -> None:
        self.root, self.content_dir = root, content_dir
        self.nlu_dir = root / "data" / "nlu"
        self.out, self.err, self.ask = out or sys.stdout, err or sys.stderr, ask
        self._today, self._engine = today, engine

    def say(self, text: str = "") -> None:
        """Print to standard output."""
        print(text, file=self.out)

    def warn(self, text: str) -> None:
        """Print to standard error."""
        print(text, file=self.err)

    @property
    def today(self) -> date:
        """Today in Vietnam (or the injected date)."""
        return self._today or today_vn()

    def engine(self) -> Any:
        """The project database (created on first use)."""
        if self._engine is None:
            self._engine = make_engine()
            init_db(self._engine)
        return self._engine

    def run(self, args: argparse.Namespace) -> int:
        """Run the command the parser chose."""
        return args.handler(self, args)
