"""Held-out evaluation: intent accuracy, macro-F1, and triage recall / false alarms by diacritics.

`evaluate(model, data)` returns every figure (the training gate and its report read them); `render` is the
Markdown report of `make eval`; `main` is the command line of scripts/eval.py (see USAGE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import yaml

from bot.text import has_diacritics
from bot.triage import URGENT_INTENT, assess, combine

USAGE = """Held-out evaluation: intent accuracy, macro-F1, and triage recall / false alarms by diacritics.

Usage: python scripts/eval.py --model models/current.tar.gz --data tests/eval/heldout.yml --out docs/eval-report.md
"""
# Both reach the same fallback reply, so confusing them changes nothing for the resident.
EQUIVALENT = {("out_of_scope", "nlu_fallback")}


def full_intent(parse: dict[str, Any]) -> str:
    """The predicted intent, with the FAQ topic from the response selector (faq/<topic>)."""
    name = (parse.get("intent") or {}).get("name") or "none"
    if name == "faq":
        selector = (parse.get("response_selector") or {}).get("faq") or {}
        key = (selector.get("response") or {}).get("intent_response_key")
        return key or "faq"
    return name


def classifier_intent(parse: dict[str, Any]) -> tuple[str, float]:
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


async def _parse_all(model_path: str, texts: list[str]) -> tuple[list[dict[str, Any]], float]:
    from rasa.core.agent import load_agent

    agent = await load_agent(model_path=model_path)
    parses = []
    start = time.perf_counter()
    for text in texts:
        parses.append(await agent.parse_message(text))
    return parses, (time.perf_counter() - start) / max(len(texts), 1)


def evaluate(model_path: str, data_path: str) -> dict[str, Any]:
    """Evaluate a trained model on a held-out file; returns every figure of the report."""
    items = yaml.safe_load(Path(data_path).read_text(encoding="utf-8"))["messages"]
    texts = [m["text"] for m in items]
    parses, latency = asyncio.run(_parse_all(model_path, texts))
    gold = [m["intent"] for m in items]
    pred = []
    for g, p in zip(gold, parses):
        label = full_intent(p)
        pred.append(g if (g, label) in EQUIVALENT else label)
    strict = [full_intent(p) for p in parses]
    per_intent, macro_f1 = _f1_table(gold, pred)

    groups = {"with_diacritics": [], "without_diacritics": [], "all": []}
    rows = []
    for item, parse in zip(items, parses):
        escalated = (parse.get("intent") or {}).get("name") == URGENT_INTENT
        rules = assess(item["text"])
        cls_name, cls_conf = classifier_intent(parse)
        merged = combine(rules, cls_name, cls_conf, text=item["text"])
        level = merged.urgency if merged.urgent else ("needs_support" if escalated else "none")
        row = {"text": item["text"], "gold_intent": item["intent"], "pred_intent": full_intent(parse),
               "gold_urgency": item["urgent"], "escalated": escalated, "level": level,
               "rules": rules.urgent, "classifier": cls_name == URGENT_INTENT and cls_conf >= 0.5,
               "diacritics": has_diacritics(item["text"])}
        rows.append(row)
        groups["all"].append(row)
        groups["with_diacritics" if row["diacritics"] else "without_diacritics"].append(row)

    triage: dict[str, dict[str, Any]] = {}
    for name, group in groups.items():
        urgent = [r for r in group if r["gold_urgency"] != "none"]
        calm = [r for r in group if r["gold_urgency"] == "none"]
        danger = [r for r in group if r["gold_urgency"] == "danger_now"]
        triage[name] = {
            "messages": len(group), "urgent": len(urgent), "not_urgent": len(calm),
            "urgent_recall": _rate(sum(r["escalated"] for r in urgent), len(urgent)),
            "false_alarm_rate": _rate(sum(r["escalated"] for r in calm), len(calm)),
            "danger_now_as_danger_now": _rate(sum(r["level"] == "danger_now" for r in danger), len(danger)),
            "rules_only_recall": _rate(sum(r["rules"] for r in urgent), len(urgent)),
            "rules_only_false_alarm": _rate(sum(r["rules"] for r in calm), len(calm)),
            "classifier_only_recall": _rate(sum(r["classifier"] for r in urgent), len(urgent)),
            "classifier_only_false_alarm": _rate(sum(r["classifier"] for r in calm), len(calm)),
        }
    labels = sorted(set(gold) | set(pred))
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred):
        matrix[index[g]][index[p]] += 1
    accuracy_by = {}
    for name in ("with_diacritics", "without_diacritics"):
        subset = [(g, p) for g, p, r in zip(gold, pred, rows) if (name == "with_diacritics") == r["diacritics"]]
        accuracy_by[name] = _rate(sum(g == p for g, p in subset), len(subset))
    return {
        "model": model_path, "data": data_path, "messages": len(items),
        "intent_accuracy": _rate(sum(g == p for g, p in zip(gold, pred)), len(gold)),
        "intent_accuracy_strict": _rate(sum(g == p for g, p in zip(gold, strict)), len(gold)),
        "intent_accuracy_by_diacritics": accuracy_by,
        "macro_f1": macro_f1, "per_intent": per_intent,
        "urgent_recall": triage["all"]["urgent_recall"], "false_alarm_rate": triage["all"]["false_alarm_rate"],
        "triage": triage, "confusion": {"labels": labels, "matrix": matrix},
        "mean_parse_ms": round(latency * 1000, 1),
        "misses": [r for r in rows if r["gold_urgency"] != "none" and not r["escalated"]],
        "false_alarms": [r for r in rows if r["gold_urgency"] == "none" and r["escalated"]],
        "intent_errors": [r for r, g, p in zip(rows, gold, pred) if g != p],
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def render(result: dict[str, Any]) -> str:
    """The Markdown report."""
    t = result["triage"]
    lines = [
        "# Held-out evaluation", "",
        f"Model `{result['model']}` on `{result['data']}` ({result['messages']} messages, never used for training).",
        f"Generated by `make eval`. Mean NLU parse time: {result['mean_parse_ms']} ms per message.", "",
        "## Intents", "",
        "| figure | value |", "|---|---|",
        f"| intent accuracy | {_pct(result['intent_accuracy'])} |",
        f"| intent accuracy, strict (nlu_fallback ≠ out_of_scope) | {_pct(result['intent_accuracy_strict'])} |",
        f"| intent accuracy, with diacritics | {_pct(result['intent_accuracy_by_diacritics']['with_diacritics'])} |",
        f"| intent accuracy, without diacritics | {_pct(result['intent_accuracy_by_diacritics']['without_diacritics'])} |",
        f"| macro-F1 | {result['macro_f1']:.3f} |", "",
        "FAQ topics count as their full name (`faq/<topic>`), so choosing the wrong topic is an error.", "",
        "## Triage (a case is opened when the final intent is `report_violence`)", "",
        "| group | urgent | not urgent | urgent recall | false alarms | danger now kept as danger now |"
        " rules only: recall / false alarms | classifier only: recall / false alarms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("all", "with_diacritics", "without_diacritics"):
        g = t[name]
        lines.append(f"| {name.replace('_', ' ')} | {g['urgent']} | {g['not_urgent']} | {_pct(g['urgent_recall'])} | "
                     f"{_pct(g['false_alarm_rate'])} | {_pct(g['danger_now_as_danger_now'])} | "
                     f"{_pct(g['rules_only_recall'])} / {_pct(g['rules_only_false_alarm'])} | "
                     f"{_pct(g['classifier_only_recall'])} / {_pct(g['classifier_only_false_alarm'])} |")
    lines += ["", "## Urgent messages missed", ""]
    lines += [f"- `{r['text']}` → {r['pred_intent']}" for r in result["misses"]] or ["None."]
    lines += ["", "## False alarms", ""]
    lines += [f"- `{r['text']}` (expected {r['gold_intent']})" for r in result["false_alarms"]] or ["None."]
    lines += ["", "## Per intent", "", "| intent | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, v in sorted(result["per_intent"].items()):
        lines.append(f"| {name} | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} | {v['support']} |")
    lines += ["", "## Intent errors", ""]
    lines += [f"- `{r['text']}`: expected {r['gold_intent']}, got {r['pred_intent']}" for r in result["intent_errors"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (scripts/eval.py)."""
    parser = argparse.ArgumentParser(description=USAGE)
    parser.add_argument("--model", default="models/current.tar.gz")
    parser.add_argument("--data", default="tests/eval/heldout.yml")
    parser.add_argument("--out", default="docs/eval-report.md")
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = evaluate(args.model, args.data)
    Path(args.out).write_text(render(result), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    t = result["triage"]
    print(f"intent accuracy {_pct(result['intent_accuracy'])}, macro-F1 {result['macro_f1']:.3f}")
    for name in ("with_diacritics", "without_diacritics"):
        print(f"{name}: urgent recall {_pct(t[name]['urgent_recall'])}, false alarms {_pct(t[name]['false_alarm_rate'])}")
    print(f"report: {args.out}")
    return 0
