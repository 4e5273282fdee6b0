"""Rule recall / false alarms on the TRAINING data (a development set for bot/triage.py; never the held-out files)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.triage import assess, should_demote  # noqa: E402


def examples() -> dict[str, list[str]]:
    """Training examples by intent, from data/nlu/*.yml."""
    out: dict[str, list[str]] = {}
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                out.setdefault(block["intent"], []).extend(
                    line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- "))
    return out


def main() -> int:
    """Print rule recall on report_violence examples and false alarms elsewhere."""
    data = examples()
    positives = data.pop("report_violence", [])
    negatives = [t for texts in data.values() for t in texts]
    missed = [t for t in positives if not assess(t).urgent]
    alarms = [t for t in negatives if assess(t).urgent]
    demoted = [t for t in positives if should_demote(t)]
    print(f"rules recall on report_violence training examples: {1 - len(missed) / len(positives):.3f} "
          f"({len(positives)} examples)")
    print(f"rules false alarms on other training examples: {len(alarms) / len(negatives):.4f} ({len(negatives)})")
    print(f"report_violence examples a classifier hit would wrongly demote: {len(demoted)}")
    if "-v" in sys.argv:
        for label, items in (("FALSE ALARM", alarms), ("DEMOTED", demoted), ("MISSED", missed)):
            for t in items:
                print(f"{label}: {t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
