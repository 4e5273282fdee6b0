"""FAQ evaluation: of held-out questions, how many get the facts asked for, a wrong answer, or an honest "not sure".

Each question names the topic that answers it (`topic`) or says no topic can (`expect: not_on_file | out_of_scope`);
`facts` are words a right answer contains. A reply is judged from the model's parse, as the assistant would answer:
- right: the predicted FAQ topic is the gold one and its answer contains every fact (or, for topics answered by
  an action, the intent that answers them);
- unsure: the fallback, out of scope, or (with `did_you_mean`) the "did you mean" options, which name the gold
  topic or not (`options_hit` counts those that do);
- escalated: the message was routed to urgent triage (a false alarm for a question);
- wrong: any other confident answer.
Figures are split by diacritics and per topic. Guarantees: the file is never used for training; the judge reads
the answer text from content/faq, the same text the assistant sends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.config import CONTENT_DIR
from bot.content.faq import load_topics
from bot.nlu.faq_choice import offered_topics
from bot.staff.evaluation import full_intent, parse_all
from bot.text import fold, has_diacritics

RIGHT, WRONG, UNSURE, ESCALATED = "right", "wrong", "unsure", "escalated"
UNSURE_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
URGENT_INTENTS = frozenset({"report_violence", "describe_worry", "request_counselor"})
# Topics some questions get from an action rather than the FAQ text (the action's reply holds the facts).
ANSWERED_BY_ACTION = {"campaign_history": {"ask_campaign_theme"}, "campaign_purpose": set(),
                      "launch_ceremony": {"ask_events"}, "campaign_activities": {"ask_events"}}
# `did_you_mean(parse)` → the topics offered instead of an answer, or None when the assistant answers.
DidYouMean = Callable[[Mapping[str, Any]], "list[str] | None"]


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    """The questions of a held-out FAQ file."""
    return list(yaml.safe_load(Path(path).read_text(encoding="utf-8"))["questions"])


def judge(question: Mapping[str, Any], parse: Mapping[str, Any], answers: Mapping[str, str],
          did_you_mean: DidYouMean | None = None) -> tuple[str, bool]:
    """(outcome, options_hit) for one question and the model's parse of it."""
    predicted = full_intent(parse)
    gold = question.get("topic")
    if predicted in URGENT_INTENTS:
        return ESCALATED, False
    if predicted in UNSURE_INTENTS:
        return (RIGHT if not gold else UNSURE), False
    options = did_you_mean(parse) if did_you_mean else None
    if options is not None:
        return (RIGHT if not gold else UNSURE), bool(gold and f"faq/{gold}" in options)
    if not gold:
        return WRONG, False
    if predicted == f"faq/{gold}":
        text = fold(answers.get(gold, ""))
        return (RIGHT if all(fold(str(f)) in text for f in question.get("facts") or []) else WRONG), False
    if predicted in ANSWERED_BY_ACTION.get(gold, set()):
        return RIGHT, False
    return WRONG, False


def figures(questions: Sequence[Mapping[str, Any]], parses: Sequence[Mapping[str, Any]], answers: Mapping[str, str],
            did_you_mean: DidYouMean | None = None) -> dict[str, Any]:
    """Outcome shares overall, by diacritics, for questions not on file, and per topic; the wrong answers listed."""
    splits: dict[str, Counter] = defaultdict(Counter)
    topics: dict[str, Counter] = defaultdict(Counter)
    wrong: list[dict[str, str]] = []
    hits = 0
    for q, p in zip(questions, parses):
        outcome, hit = judge(q, p, answers, did_you_mean)
        hits += hit
        kind = "answerable" if q.get("topic") else "not_answerable"
        accent = "with_diacritics" if has_diacritics(q["text"]) else "without_diacritics"
        for key in (kind, f"{kind}/{accent}"):
            splits[key][outcome] += 1
        topics[q.get("topic") or q.get("expect", "?")][outcome] += 1
        if outcome in (WRONG, ESCALATED):
            wrong.append({"text": q["text"], "gold": q.get("topic") or q.get("expect", ""),
                          "got": full_intent(p)})
    return {"questions": len(questions), "options_named_the_topic": hits,
            "splits": {k: _shares(v) for k, v in sorted(splits.items())},
            "topics": {k: dict(v) for k, v in sorted(topics.items())}, "wrong": wrong}


def _shares(counts: Counter) -> dict[str, Any]:
    total = sum(counts.values())
    return {"n": total, **{o: round(counts[o] / total, 4) if total else None for o in (RIGHT, WRONG, UNSURE,
                                                                                      ESCALATED)}}


def render(result: Mapping[str, Any]) -> str:
    """The figures as Markdown."""
    lines = ["# FAQ evaluation", "", f"{result['questions']} questions; \"did you mean\" options named the right "
             f"topic for {result['options_named_the_topic']} of them (counted as not sure).", "",
             "| split | n | right facts | wrong answer | not sure | escalated |", "|---|---|---|---|---|---|"]
    for name, s in result["splits"].items():
        lines.append(f"| {name} | {s['n']} | " + " | ".join(f"{100 * (s[o] or 0):.1f}%" for o in (RIGHT, WRONG, UNSURE,
                                                                                                  ESCALATED)) + " |")
    lines += ["", "| topic | right | wrong | not sure | escalated |", "|---|---|---|---|---|"]
    for topic, c in result["topics"].items():
        lines.append(f"| {topic} | {c.get(RIGHT, 0)} | {c.get(WRONG, 0)} | {c.get(UNSURE, 0)} | {c.get(ESCALATED, 0)} |")
    return "\n".join(lines) + "\n"


def evaluate(model_path: str, data_path: str, content: Path = CONTENT_DIR,
             did_you_mean: DidYouMean | None = None) -> dict[str, Any]:
    """Parse every question with the model and compute the figures."""
    questions = load_questions(data_path)
    parses, latency = asyncio.run(parse_all(model_path, [q["text"] for q in questions]))
    answers = {t.topic: t.answer for t in load_topics(content / "faq")}
    return {**figures(questions, parses, answers, did_you_mean), "mean_parse_ms": round(latency * 1000, 1)}


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m bot.staff.eval_faq --model M --data F --out report.md [--json J]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/current.tar.gz")
    parser.add_argument("--data", default="tests/eval/faq_heldout.yml")
    parser.add_argument("--out", default="var/reports/faq-eval.md")
    parser.add_argument("--json", default=None)
    parser.add_argument("--no-did-you-mean", action="store_true",
                        help="judge the top topic as if the assistant always answered it (no \"did you mean\")")
    args = parser.parse_args(argv)
    result = evaluate(args.model, args.data, did_you_mean=None if args.no_did_you_mean else offered_topics)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(render(result), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    for name, s in result["splits"].items():
        print(f"{name}: n={s['n']} right={s[RIGHT]} wrong={s[WRONG]} unsure={s[UNSURE]} escalated={s[ESCALATED]}")
    print(f"did-you-mean options that named the right topic: {result['options_named_the_topic']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
