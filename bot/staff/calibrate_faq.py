"""Choose the "did you mean" thresholds on calibration questions, never on an evaluation file.

`python -m bot.staff.calibrate_faq --model M --data tests/calibration/` parses every calibration question with the
model and, for a grid of thresholds, counts what the assistant would do: answer the right topic, answer a wrong one
(the worst outcome), ask with the right topic among the options, ask without it, or say "not on file" (right only
for questions the content cannot answer). It prints the grid's best rows: the most right answers with confident
wrong answers at most `--max-wrong` (default 5%) on answerable questions and "not on file" questions answered
confidently at most `--max-wrong-off` (default 20%). Guarantees: reads only the calibration folder given; writes
nothing but its report.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.nlu.faq_choice import ANSWER, ASK, THRESHOLDS, Thresholds, decide
from bot.staff.evaluation import full_intent, parse_all

GRID = {"answer_from": (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7),
        "answer_margin": (0.0, 0.05, 0.1, 0.15, 0.2, 0.25), "not_on_file_below": (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)}


def load(folder: Path) -> list[dict[str, Any]]:
    """Every question of the calibration files in `folder`."""
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yml")):
        found += yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    return found


def outcome(question: Mapping[str, Any], parse: Mapping[str, Any], limits: Thresholds) -> str:
    """right | wrong | ask_hit | ask_miss | honest | other for one question under `limits`."""
    gold = question.get("topic")
    if (parse.get("intent") or {}).get("name") != "faq":
        return "other"  # another intent answers (or triage): not decided here
    choice = decide(parse, limits)
    if choice.kind == ANSWER:
        return "right" if gold and full_intent(parse) == f"faq/{gold}" else "wrong"
    if choice.kind == ASK:
        return "ask_hit" if gold and f"faq/{gold}" in choice.topics else "ask_miss"
    return "honest" if not gold else "ask_miss"  # (an ASK for a question not on file is "ask_miss": not harmful)


def score(questions: Sequence[Mapping[str, Any]], parses: Sequence[Mapping[str, Any]],
          limits: Thresholds) -> dict[str, dict[str, float]]:
    """Shares of each outcome, for answerable questions and for those not on file."""
    groups: dict[str, Counter] = {"answerable": Counter(), "not_on_file": Counter()}
    for q, p in zip(questions, parses):
        groups["answerable" if q.get("topic") else "not_on_file"][outcome(q, p, limits)] += 1
    return {k: {o: n / max(sum(c.values()), 1) for o, n in c.items()} for k, c in groups.items()}


def main(argv: list[str] | None = None) -> int:
    """Command line: print the current thresholds' figures and the best grid rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/current.tar.gz")
    parser.add_argument("--data", default="tests/calibration")
    parser.add_argument("--max-wrong", type=float, default=0.05)
    parser.add_argument("--max-wrong-off", type=float, default=0.20)
    args = parser.parse_args(argv)
    questions = load(Path(args.data))
    parses, _ = asyncio.run(parse_all(args.model, [q["text"] for q in questions]))
    rows = []
    for a, m, n in itertools.product(GRID["answer_from"], GRID["answer_margin"], GRID["not_on_file_below"]):
        if n >= a:
            continue
        limits = Thresholds(not_on_file_below=n, answer_from=a, answer_margin=m,
                            intent_sure=THRESHOLDS.intent_sure, option_min=THRESHOLDS.option_min)
        s = score(questions, parses, limits)
        rows.append((limits, s))
    print(f"{len(questions)} questions; in service: {THRESHOLDS}")
    current = score(questions, parses, THRESHOLDS)
    print("in service:", {k: {o: round(v, 3) for o, v in sorted(d.items())} for k, d in current.items()})
    fit = [(lim, s) for lim, s in rows if s["answerable"].get("wrong", 0) <= args.max_wrong
           and s["not_on_file"].get("wrong", 0) <= args.max_wrong_off]
    fit.sort(key=lambda r: (-r[1]["answerable"].get("right", 0), -r[1]["answerable"].get("ask_hit", 0)))
    for lim, s in fit[:8]:
        print(f"answer_from={lim.answer_from} margin={lim.answer_margin} not_on_file_below={lim.not_on_file_below}:",
              {k: {o: round(v, 3) for o, v in sorted(d.items())} for k, d in s.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
