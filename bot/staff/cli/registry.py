"""The command table: every staff command is declared once, with its flags, help and handler.

An `Area` (content, topic, model, review) collects its commands through `@AREA.command(...)`; the parser is built
from the areas, and each sub-parser stores its handler in `args.handler`, so there is no second list to keep in step.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.staff.cli.tool import Tool

Handler = Callable[[Tool, argparse.Namespace], int]


@dataclass(frozen=True)
class Arg:
    """One `add_argument` call: its names and its options."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    """Declare an argument exactly as `ArgumentParser.add_argument` takes it."""
    return Arg(flags, options)


@dataclass(frozen=True)
class Command:
    """A sub-command: name, help, arguments and the function that runs it."""

    name: str
    help: str
    args: tuple[Arg, ...]
    handler: Handler


@dataclass
class Area:
    """A group of commands (`python -m bot <area> <command>`)."""

    name: str
    help: str
    commands: list[Command] = field(default_factory=list)

    def command(self, name: str, help: str, *args: Arg) -> Callable[[Handler], Handler]:
        """Register the decorated function as the command `name` of this area."""
        def register(handler: Handler) -> Handler:
            self.commands.append(Command(name, help, args, handler))
            return handler
        return register

    def add_to(self, areas: Any) -> None:
        """Add this area and its commands to the top-level sub-parsers."""
        parser = areas.add_parser(self.name, help=self.help)
        commands = parser.add_subparsers(dest="command", required=True)
        for command in self.commands:
            sub = commands.add_parser(command.name, help=command.help)
            for argument in command.args:
                sub.add_argument(*argument.flags, **argument.options)
            sub.set_defaults(handler=command.handler)
