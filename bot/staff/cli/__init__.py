"""`python -m bot …`: the staff tool (Vietnamese messages; help in Vietnamese and English).

One module per area (`content`, `topics`, `model`, `review`), each command declared once with `@AREA.command`;
`app` lists the areas and builds the parser; `tool` is what every command runs with.
"""

from bot.staff.cli.app import build_parser, main
from bot.staff.cli.tool import Tool

__all__ = ["Tool", "build_parser", "main"]
