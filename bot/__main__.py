"""Command-line tool: `python -m bot --help` (commands live in bot/staff/cli/, one module per area)."""

from __future__ import annotations

import logging
import sys

from bot.logsafety import setup_logging
from bot.staff.cli import main

if __name__ == "__main__":
    setup_logging("staff", logging.WARNING)
    sys.exit(main())
