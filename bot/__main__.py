"""Command-line tool: `python -m bot --help` (commands live in bot/staff/cli/, one module per area)."""

from __future__ import annotations

import sys

from bot.staff.cli import main

if __name__ == "__main__":
    sys.exit(main())
