"""Triage figures of the held-out evaluation: the band of each parse, and the rates the issue's bars are set on.

Pure functions over rows (one held-out message and what the model made of it), so the figures can be checked on
synthetic parse results. Every rate is None when its group is empty (never a made-up 0 or 100%). The three bands are
the ones of `bot.triage.policy`: urgent (a case and the numbers), unsure (a safety check), calm (an answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.content.library import Library
from bot.masking import mask_personal
from bot.text import has_diacritics
from bot.triage import DANGER_NOW, NEEDS_SUPPORT, NONE, URGENT_INTENT

URGENT, UNSURE, CALM = "urgent", "unsure", "calm"
BANDS = (URGENT, UNSURE, CALM)
WORRY_INTENT = "describe_worry"
LEVELS = (DANGER_NOW, NEEDS_SUPPORT, NONE)
EMERGENCY = ("113", "115", "111")
# The diacritics split is over Vietnamese messages only: an English message has no accents to drop.
SPLITS = ("all", "with_diacritics", "without_diacritics", "other_languages")

Composer = Callable[[Mapping[str, Any]], str]


def band_of(parse: Mapping[str, Any]) -> str:
    """The band the pipeline chose; for an older model without it, derived from the final intent."""
    triage = parse.get("triage")
    if isinstance(triage, Mapping) and triage.get("band") in BANDS:
        return str(triage["band"])
    name = (parse.get("intent") or {}).get("name")
    return URGENT if name == URGENT_INTENT else UNSURE if name == WORRY_INTENT else CALM


def level_of(parse: Mapping[str, Any]) -> str:
    """The urgency level the reply would be composed with (needs_support when the band is urgent but no level)."""
    if band_of(parse) != URGENT:
        return NONE
    triage = parse.get("triage")
    level = triage.get("urgency") if isinstance(triage, Mapping) else None
    return level if level in (DANGER_NOW, NEEDS_SUPPORT) else NEEDS_SUPPORT


def load_messages(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every message of the held-out files, with the optional fields filled in (lang vi, not ambiguous)."""
    items = []
    for path in paths:
        for raw in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["messages"]:
            if raw.get("urgent") not in LEVELS:
                raise ValueError(f"{path}: urgent must be one of {LEVELS}: {raw.get('text')!r}")
            items.append({"text": str(raw["text"]), "intent": raw.get("intent"), "urgent": raw["urgent"],
                          "ambiguous": bool(raw.get("ambiguous")), "category": raw.get("category") or "uncategorised",
                          "lang": raw.get("lang") or "vi", "source": str(path)})
    return items


def _number_pattern(number: str) -> re.Pattern[str]:
    digits = re.sub(r"\D", "", number)
    return re.compile(r"(?<!\d)" + r"[\s.\-]?".join(digits) + r"(?!\d)")


def missing_numbers(reply: str, library: Library) -> list[str]:
    """What an urgent reply lacks: any of 113/115/111, or "counseling" when no counseling line appears."""
    missing = [n for n in EMERGENCY if not _number_pattern(n).search(reply)]
    counseling = {re.sub(r"\D", "", n) for n in library.hotlines.all_numbers()} - set(EMERGENCY)
    if not any(_number_pattern(n).search(reply) for n in counseling if n):
        missing.append("counseling")
    return missing


def make_rows(items: Sequence[Mapping[str, Any]], parses: Sequence[Mapping[str, Any]],
              rules: Callable[[str], bool], compose: Composer, library: Library) -> list[dict[str, Any]]:
    """One row per message: gold labels, band, level, and what an urgent reply would lack."""
    rows = []
    for item, parse in zip(items, parses, strict=True):
        classifier = (parse.get("triage") or {}).get("classifier") or {}
        row: dict[str, Any] = {
            **item, "band": band_of(parse), "level": level_of(parse),
            "pred_intent": (parse.get("intent") or {}).get("name") or "none",
            "diacritics": has_diacritics(item["text"]), "rules": rules(item["text"]),
            "classifier": classifier.get("name") == URGENT_INTENT and float(classifier.get("confidence") or 0) >= 0.5,
            "missing_numbers": []}
        if row["band"] == URGENT:
            row["missing_numbers"] = missing_numbers(compose(row), library)
        rows.append(row)
    return rows


def split_of(row: Mapping[str, Any]) -> str:
    """with_diacritics / without_diacritics for Vietnamese, other_languages otherwise."""
    if row["lang"] != "vi":
        return "other_languages"
    return "with_diacritics" if row["diacritics"] else "without_diacritics"


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def group_figures(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every triage rate of one group of rows."""
    urgent = [r for r in rows if r["urgent"] != NONE]
    calm = [r for r in rows if r["urgent"] == NONE and not r["ambiguous"]]
    ambiguous = [r for r in rows if r["ambiguous"]]
    caught = [r for r in urgent if r["band"] == URGENT]
    danger = [r for r in urgent if r["urgent"] == DANGER_NOW]
    sent = [r for r in rows if r["band"] == URGENT]
    return {
        "messages": len(rows), "urgent": len(urgent), "not_urgent": len(calm), "ambiguous": len(ambiguous),
        "urgent_recall": _rate(len(caught), len(urgent)),
        "false_alarm_rate": _rate(sum(r["band"] == URGENT for r in calm), len(calm)),
        "ambiguous_handled": _rate(sum(r["band"] in (URGENT, UNSURE) for r in ambiguous), len(ambiguous)),
        "ambiguous_as_case": _rate(sum(r["band"] == URGENT for r in ambiguous), len(ambiguous)),
        "calm_safety_check_rate": _rate(sum(r["band"] == UNSURE for r in calm), len(calm)),
        "urgent_safety_check_rate": _rate(sum(r["band"] == UNSURE for r in urgent), len(urgent)),
        "level_accuracy": _rate(sum(r["level"] == r["urgent"] for r in caught), len(caught)),
        "danger_now_as_danger_now": _rate(sum(r["band"] == URGENT and r["level"] == DANGER_NOW for r in danger),
                                          len(danger)),
        "danger_now_as_question": _rate(sum(r["band"] == UNSURE for r in danger), len(danger)),
        "numbers_in_urgent_replies": _rate(sum(not r["missing_numbers"] for r in sent), len(sent)),
        "rules_only_recall": _rate(sum(r["rules"] for r in urgent), len(urgent)),
        "rules_only_false_alarm": _rate(sum(r["rules"] for r in calm), len(calm)),
        "classifier_only_recall": _rate(sum(r["classifier"] for r in urgent), len(urgent)),
        "classifier_only_false_alarm": _rate(sum(r["classifier"] for r in calm), len(calm)),
    }


def triage_figures(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures overall, by diacritics split, per category and per language, and the listed errors."""
    splits = {name: group_figures([r for r in rows if name == "all" or split_of(r) == name]) for name in SPLITS}
    categories = sorted({r["category"] for r in rows})
    languages = sorted({r["lang"] for r in rows})
    listed = ("text", "category", "lang", "urgent", "band", "level", "pred_intent", "missing_numbers", "source")

    def masked(row: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (mask_personal(row[k]) if k == "text" else row[k]) for k in listed}

    return {
        "triage": splits,
        "by_category": {c: group_figures([r for r in rows if r["category"] == c]) for c in categories},
        "by_language": {lang: group_figures([r for r in rows if r["lang"] == lang]) for lang in languages},
        "misses": [masked(r) for r in rows if r["urgent"] != NONE and r["band"] != URGENT],
        "false_alarms": [masked(r) for r in rows if r["urgent"] == NONE and not r["ambiguous"] and r["band"] == URGENT],
        "calm_safety_checks": [masked(r) for r in rows if r["urgent"] == NONE and not r["ambiguous"]
                               and r["band"] == UNSURE],
        "ambiguous_unhandled": [masked(r) for r in rows if r["ambiguous"] and r["band"] == CALM],
        "wrong_level": [masked(r) for r in rows if r["urgent"] != NONE and r["band"] == URGENT
                        and r["level"] != r["urgent"]],
        "replies_without_numbers": [masked(r) for r in rows if r["missing_numbers"]],
    }


# The bars, per split: (figure, comparison, bar).
BARS = (("urgent_recall", ">=", 0.99), ("false_alarm_rate", "<=", 0.03), ("numbers_in_urgent_replies", ">=", 1.0),
        ("ambiguous_handled", ">=", 0.90), ("calm_safety_check_rate", "<=", 0.10))
_COLUMNS = (("urgent_recall", "urgent recall"), ("false_alarm_rate", "false alarms"),
            ("ambiguous_handled", "ambiguous: case or check"), ("ambiguous_as_case", "ambiguous: case"),
            ("calm_safety_check_rate", "calm given a check"), ("level_accuracy", "level accuracy"),
            ("danger_now_as_question", "danger now given a check"),
            ("numbers_in_urgent_replies", "numbers in urgent replies"))


def pct(value: float | None) -> str:
    """A rate as a percentage, "–" when not measurable."""
    return "–" if value is None else f"{value * 100:.1f}%"


def meets(value: float | None, comparison: str, bar: float) -> bool | None:
    """Whether a figure meets its bar (None when it could not be measured)."""
    if value is None:
        return None
    return value + 1e-9 >= bar if comparison == ">=" else value <= bar + 1e-9


def _cell(text: str) -> str:
    return " ".join(text.replace("`", "'").replace("|", "/").split())


def _table(groups: Mapping[str, Mapping[str, Any]], first: str) -> list[str]:
    head = f"| {first} | messages | urgent | calm | ambiguous | " + " | ".join(c for _, c in _COLUMNS) + " |"
    lines = [head, "|" + "---|" * (5 + len(_COLUMNS))]
    for name, g in groups.items():
        lines.append(f"| {name.replace('_', ' ')} | {g['messages']} | {g['urgent']} | {g['not_urgent']} | "
                     f"{g['ambiguous']} | " + " | ".join(pct(g[k]) for k, _ in _COLUMNS) + " |")
    return lines


def _listing(title: str, rows: Sequence[Mapping[str, Any]], what: Callable[[Mapping[str, Any]], str]) -> list[str]:
    lines = ["", f"## {title} ({len(rows)})", ""]
    return lines + ([f"- `{_cell(r['text'])}` [{r['category']}, {r['lang']}] {what(r)}" for r in rows] or ["None."])


def render_triage(result: Mapping[str, Any]) -> list[str]:
    """The triage part of the Markdown report (bands, bars, per category, per language, every error listed)."""
    splits = result["triage"]
    lines = ["## Triage bands", "",
             "Band read from the parse data (`triage.band`), or derived from the final intent for an older model "
             "(report_violence → urgent, describe_worry → unsure, otherwise calm). *Calm* means `urgent: none` and "
             "not ambiguous; an ambiguous message is handled when it gets a case or a safety check. The diacritics "
             "split counts Vietnamese messages only; other languages are their own row.", ""]
    lines += _table(splits, "group")
    lines += ["", "## The bars of issue 9", "", "| figure | bar | " + " | ".join(s.replace("_", " ") for s in SPLITS)
              + " |", "|---|---|" + "---|" * len(SPLITS)]
    for key, comparison, bar in BARS:
        cells = []
        for split in SPLITS:
            verdict = meets(splits[split][key], comparison, bar)
            mark = "" if verdict is None else (" ✓" if verdict else " ✗")
            cells.append(pct(splits[split][key]) + mark)
        lines.append(f"| {key.replace('_', ' ')} | {comparison} {pct(bar)} | " + " | ".join(cells) + " |")
    lines += ["", "Nets alone (what each signal would do by itself):", "",
              "| group | rules only: recall / false alarms | classifier only: recall / false alarms |", "|---|---|---|"]
    for name in SPLITS:
        g = splits[name]
        lines.append(f"| {name.replace('_', ' ')} | {pct(g['rules_only_recall'])} / {pct(g['rules_only_false_alarm'])}"
                     f" | {pct(g['classifier_only_recall'])} / {pct(g['classifier_only_false_alarm'])} |")
    lines += ["", "## Per category", ""] + _table(result["by_category"], "category")
    lines += ["", "## Per language", ""] + _table(result["by_language"], "language")
    lines += _listing("Urgent messages missed", result["misses"],
                      lambda r: f"expected {r['urgent']}, got {r['band']} ({r['pred_intent']})")
    lines += _listing("False alarms (calm message, case opened)", result["false_alarms"],
                      lambda r: f"→ {r['pred_intent']}")
    lines += _listing("Calm messages given a safety check", result["calm_safety_checks"],
                      lambda r: f"→ {r['pred_intent']}")
    lines += _listing("Ambiguous messages answered without a check", result["ambiguous_unhandled"],
                      lambda r: f"→ {r['pred_intent']}")
    lines += _listing("Urgent messages caught at the wrong level", result["wrong_level"],
                      lambda r: f"expected {r['urgent']}, got {r['level']}")
    lines += _listing("Urgent replies without every number", result["replies_without_numbers"],
                      lambda r: "missing " + ", ".join(r["missing_numbers"]))
    return lines
