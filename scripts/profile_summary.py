"""Summarise py-spy collapsed stacks (`bench_throughput.py --profile DIR`) into where a turn's CPU goes.

Each sample is charged to one part of the turn: the innermost frame that belongs to a known part wins (so
TensorFlow under DIET counts as NLU and SQLAlchemy under Rasa's tracker store as the tracker store). Samples of a
waiting thread or event loop are left out. Prints a Markdown table per file (share of busy samples) and the functions that hold the most samples themselves.

    .venv/bin/python scripts/profile_summary.py results/profile/project-rasa.txt [more files]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# (part, pattern on "function (file:line)"), innermost match wins; order breaks ties within one frame.
PARTS: list[tuple[str, re.Pattern[str]]] = [
    ("action response validation (jsonschema)", re.compile(r"\(jsonschema/")),
    ("tracker store (load, save, replay)", re.compile(r"\(rasa/core/tracker_store\.py")),
    ("lock store", re.compile(r"\(rasa/core/lock_store\.py|\(rasa/core/lock\.py")),
    ("policies", re.compile(r"\(rasa/core/policies/|\(rasa/core/featurizers/")),
    ("NLU pipeline", re.compile(r"\(rasa/nlu/")),
    ("action call (HTTP, JSON)", re.compile(r"^(run|_action_call_format) \(rasa/core/actions/action\.py|"
                                            r"\(rasa/utils/endpoints\.py|\(aiohttp/")),
    ("tracker objects (events, state)", re.compile(r"\(rasa/shared/core/(trackers|events|domain)\.py")),
    ("graph runner", re.compile(r"\(rasa/engine/")),
    ("project code (bot/, actions/, scripts/)", re.compile(r"\((bot|actions)/")),
    ("action server (rasa_sdk)", re.compile(r"\(rasa_sdk/")),
    ("message processor", re.compile(r"\(rasa/core/(processor|agent)\.py")),
    ("HTTP server (sanic)", re.compile(r"\(sanic/")),
]
# Leaves that are a thread or the event loop waiting (py-spy cannot tell a C-level wait from work there).
IDLE = re.compile(r"^(_worker \(concurrent/futures/thread\.py|serve \(sanic/server/runners\.py|select \(selectors)")
LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")


def charge(frames: list[str]) -> str:
    """The part of the turn one sample belongs to."""
    for frame in reversed(frames):
        for part, pattern in PARTS:
            if pattern.search(frame):
                return part
    return "other"


def summarise(path: Path) -> tuple[Counter[str], Counter[str], int]:
    """Samples per part, samples per innermost function, total samples."""
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = LINE.match(line)
        if not match:
            continue
        frames = match["stack"].split(";")
        count = int(match["count"])
        if IDLE.match(frames[-1]):
            continue
        total += count
        parts[charge(frames)] += count
        leaves[re.sub(r":\d+\)$", ")", frames[-1])] += count
    return parts, leaves, total


def main() -> int:
    """Print one table per profile file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=8, help="how many self-time functions to list")
    args = parser.parse_args()
    for path in args.files:
        parts, leaves, total = summarise(path)
        if not total:
            print(f"{path}: no samples", file=sys.stderr)
            continue
        print(f"\n### {path.name} ({total} samples)\n\n| part | share |\n|---|---|")
        for part, count in parts.most_common():
            print(f"| {part} | {100 * count / total:.1f}% |")
        print("\n| function (self time) | share |\n|---|---|")
        for leaf, count in leaves.most_common(args.top):
            print(f"| `{leaf}` | {100 * count / total:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
