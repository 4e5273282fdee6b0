"""Held-out evaluation: intent accuracy, macro-F1, and the triage bands (recall, false alarms, safety checks).

`evaluate(model, data)` returns every figure (the training gate and its report read them; `data` is one held-out
file or several); `figures(items, parses, library)` computes them from parse results; `render` is the Markdown
report of `make eval`; `main` is the command line of scripts/eval.py (see USAGE). Texts listed in the report and the
figures are masked (bot.masking); an urgent reply is composed exactly as the action would, from the real content.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.config import CONTENT_DIR
from bot.content.library import Library
from bot.masking import mask_personal
from bot.replies import urgent_reply
from bot.replies_en import urgent_reply_en
from bot.staff.eval_bands import Composer, load_messages, make_rows, pct, render_triage, triage_figures
from bot.triage import TriageResult, assess

USAGE = """Held-out evaluation: intent accuracy, macro-F1, and the triage bands by diacritics and category.

Usage: python scripts/eval.py --model models/current.tar.gz --data tests/eval/heldout.yml [--data tests/eval/blind.yml]
       --out docs/eval-report.md [--json figures.json]
"""
# Both reach the same fallback reply, so confusing them changes nothing for the resident.
EQUIVALENT = {("out_of_scope", "nlu_fallback")}
_SAMPLE_CASE = 1  # the case number shown in a composed reply; any number gives the same check


def full_intent(parse: Mapping[str, Any]) -> str:
    """The predicted intent, with the FAQ topic from the response selector (faq/<topic>)."""
    name = (parse.get("intent") or {}).get("name") or "none"
    if name == "faq":
        selector = (parse.get("response_selector") or {}).get("faq") or {}
        key = (selector.get("response") or {}).get("intent_response_key")
        return key or "faq"
    return name


def classifier_intent(parse: Mapping[str, Any]) -> tuple[str, float]:
    """The classifier's own top intent, before the safety net overrode it."""
    original = (parse.get("triage") or {}).get("classifier") or {}
    return original.get("name") or "none", float(original.get("confidence") or 0.0)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _f1_table(gold: list[str], pred: list[str]) -> tuple[dict[str, dict[str, float]], float]:
    labels = sorted(set(gold))
    table: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                        "support": tp + fn}
    macro = sum(v["f1"] for v in table.values()) / len(table) if table else 0.0
    return table, round(macro, 4)


async def parse_all(model_path: str, texts: list[str]) -> tuple[list[dict[str, Any]], float]:
    """Parse every text with the model; the parses and the mean seconds per parse."""
    from rasa.core.agent import load_agent

    agent = await load_agent(model_path=model_path)
    if not agent.is_ready():  # load_agent logs the cause and returns an empty agent
        raise RuntimeError(f"could not load the model {model_path} (see the log above)")
    parses = []
    start = time.perf_counter()
    for text in texts:
        parses.append(await agent.parse_message(text))
    return parses, (time.perf_counter() - start) / max(len(texts), 1)


def compose_urgent(library: Library) -> Composer:
    """The reply the action sends for an urgent row: English for `lang: en`, Vietnamese otherwise."""

    def compose(row: Mapping[str, Any]) -> str:
        result = TriageResult(row["level"], ("đánh giá",))
        province = library.provinces.find(row["text"])
        reply = urgent_reply_en if row["lang"] == "en" else urgent_reply
        # Both outcomes of recording the case are sent to residents, so both must carry the numbers.
        return "\n".join(reply(result, library, province, case, recorded) for case, recorded
                         in ((_SAMPLE_CASE, True), (None, False)))

    return compose


def _intent_figures(items: Sequence[Mapping[str, Any]], parses: Sequence[Mapping[str, Any]],
                    rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Intent accuracy and macro-F1 over the messages that carry a gold intent."""
    labelled = [(item, parse, row) for item, parse, row in zip(items, parses, rows) if item.get("intent")]
    gold = [str(item["intent"]) for item, _, _ in labelled]
    pred = [g if (g, full_intent(p)) in EQUIVALENT else full_intent(p) for g, (_, p, _) in zip(gold, labelled)]
    strict = [full_intent(p) for _, p, _ in labelled]
    per_intent, macro_f1 = _f1_table(gold, pred)
    labels = sorted(set(gold) | set(pred))
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred):
        matrix[index[g]][index[p]] += 1
    accuracy_by = {}
    for name in ("with_diacritics", "without_diacritics"):
        subset = [(g, p) for g, p, (_, _, r) in zip(gold, pred, labelled)
                  if r["lang"] == "vi" and (name == "with_diacritics") == r["diacritics"]]
        accuracy_by[name] = _rate(sum(g == p for g, p in subset), len(subset))
    return {
        "labelled": len(gold),
        "intent_accuracy": _rate(sum(g == p for g, p in zip(gold, pred)), len(gold)),
        "intent_accuracy_strict": _rate(sum(g == p for g, p in zip(gold, strict)), len(gold)),
        "intent_accuracy_by_diacritics": accuracy_by, "macro_f1": macro_f1, "per_intent": per_intent,
        "confusion": {"labels": labels, "matrix": matrix},
        "intent_errors": [{"text": mask_personal(r["text"]), "gold_intent": g, "pred_intent": p}
                          for g, p, (_, _, r) in zip(gold, pred, labelled) if g != p],
    }


def figures(items: Sequence[Mapping[str, Any]], parses: Sequence[Mapping[str, Any]],
            library: Library) -> dict[str, Any]:
    """Every figure of the report from the held-out messages and the model's parse of each."""
    shown = [{**p, "intent": {**(p.get("intent") or {}), "name": full_intent(p)}} for p in parses]
    rows = make_rows(items, shown, lambda text: assess(text).urgent, compose_urgent(library), library)
    bands = triage_figures(rows)
    overall = bands["triage"]["all"]
    headline = {key: overall[key] for key in ("urgent_recall", "false_alarm_rate", "ambiguous_handled",
                                              "calm_safety_check_rate", "level_accuracy", "numbers_in_urgent_replies")}
    return {"messages": len(items), **_intent_figures(items, parses, rows), **headline, **bands}


def evaluate(model_path: str, data_path: str | Sequence[str], content: Path = CONTENT_DIR) -> dict[str, Any]:
    """Evaluate a trained model on one or several held-out files; returns every figure of the report."""
    paths = [data_path] if isinstance(data_path, str | Path) else list(data_path)
    items = load_messages(paths)
    parses, latency = asyncio.run(parse_all(model_path, [m["text"] for m in items]))
    result = figures(items, parses, Library.load(content))
    return {"model": model_path, "data": ", ".join(str(p) for p in paths), **result,
            "mean_parse_ms": round(latency * 1000, 1)}


def render(result: Mapping[str, Any]) -> str:
    """The Markdown report."""
    by = result["intent_accuracy_by_diacritics"]
    lines = [
        "# Held-out evaluation", "",
        f"Model `{result['model']}` on `{result['data']}` ({result['messages']} messages, never used for training; "
        f"{result['labelled']} carry a gold intent).",
        f"Generated by `make eval`. Mean NLU parse time: {result.get('mean_parse_ms', '–')} ms per message.", "",
        "## Headline", "", "| figure | value |", "|---|---|",
        *(f"| {key.replace('_', ' ')} | {pct(result[key])} |" for key in
          ("urgent_recall", "false_alarm_rate", "ambiguous_handled", "calm_safety_check_rate", "level_accuracy",
           "numbers_in_urgent_replies", "intent_accuracy")),
        "", "## Intents", "", "| figure | value |", "|---|---|",
        f"| intent accuracy | {pct(result['intent_accuracy'])} |",
        f"| intent accuracy, strict (nlu_fallback ≠ out_of_scope) | {pct(result['intent_accuracy_strict'])} |",
        f"| intent accuracy, with diacritics | {pct(by['with_diacritics'])} |",
        f"| intent accuracy, without diacritics | {pct(by['without_diacritics'])} |",
        f"| macro-F1 | {result['macro_f1']:.3f} |", "",
        "FAQ topics count as their full name (`faq/<topic>`), so choosing the wrong topic is an error.", "",
        *render_triage(result),
        "", "## Per intent", "", "| intent | precision | recall | F1 | support |", "|---|---|---|---|---|",
    ]
    for name, v in sorted(result["per_intent"].items()):
        lines.append(f"| {name} | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} | {v['support']} |")
    lines += ["", "## Intent errors", ""]
    lines += [f"- `{' '.join(r['text'].replace('`', chr(39)).split())}`: expected {r['gold_intent']}, "
              f"got {r['pred_intent']}" for r in result["intent_errors"]] or ["None."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (scripts/eval.py)."""
    parser = argparse.ArgumentParser(description=USAGE)
    parser.add_argument("--model", default="models/current.tar.gz")
    parser.add_argument("--data", action="append", default=None,
                        help="a held-out file; may be given several times (default tests/eval/heldout.yml)")
    parser.add_argument("--out", default="docs/eval-report.md")
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = evaluate(args.model, args.data or ["tests/eval/heldout.yml"])
    Path(args.out).write_text(render(result), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    t = result["triage"]
    print(f"intent accuracy {pct(result['intent_accuracy'])}, macro-F1 {result['macro_f1']:.3f}")
    for name in ("all", "with_diacritics", "without_diacritics", "other_languages"):
        g = t[name]
        print(f"{name}: urgent recall {pct(g['urgent_recall'])}, false alarms {pct(g['false_alarm_rate'])}, "
              f"ambiguous handled {pct(g['ambiguous_handled'])}, calm checks {pct(g['calm_safety_check_rate'])}, "
              f"level accuracy {pct(g['level_accuracy'])}, numbers {pct(g['numbers_in_urgent_replies'])}")
    print(f"report: {args.out}")
    return 0
