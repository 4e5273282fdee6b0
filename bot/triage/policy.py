"""The three triage bands and the one decision per message (issue 9; the reasons are in docs/triage-policy.md).

Guarantees: `decide` is pure (no I/O, no state) and never raises on any text; a danger-now rule verdict is always
URGENT (a joke or a "how do I help someone who is being hit" question is the only way danger words become UNSURE, and
only when no cry for help, weapon-now, attack-now or injury is in them); a verdict passed in as `rules` is never
lowered; `result.urgency` is NONE unless the band is URGENT; the classifier alone can open a case only at
`URGENT_CONFIDENCE` or more and never undo what the context set aside.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.language import detect_language
from bot.text import normalize
from bot.triage import (
    URGENT_INTENT,
    Assessment,
    TriageResult,
    combine,
    explain,
    is_concrete,
    is_question_about,
    mentions_harm,
    should_demote,
)
from bot.triage.levels import LEVEL_RANK

URGENT, UNSURE, CALM = "urgent", "unsure", "calm"
WORRY_INTENT = "describe_worry"

URGENT_CONFIDENCE = 0.5   # classifier report_violence at or above: a case (as `combine` did)
UNSURE_CONFIDENCE = 0.25  # report_violence from here to URGENT_CONFIDENCE, top or second: a safety check
WORRY_CONFIDENCE = 0.45   # describe_worry above the FallbackClassifier's threshold (config.yml): a safety check
CLEAR_TOP = 0.8           # a top intent this sure is a clear answer; a report_violence second to it is ignored

_NO_VERDICT = TriageResult()
# Context cues that set a rule verdict aside and leave a question, not an answer.
_ASK_BACK = frozenset({"joke", "question_now"})

# The message also asks something: "… có bình thường không", "… có bị phạt không", "… phải làm sao".
_ASKS = re.compile(
    r"\b(?:co binh thuong khong|binh thuong khong|co phai (?:la )?(?:bao luc|bao hanh|xam hai|quay roi)|co bi phat|"
    r"bi phat (?:gi|bao nhieu|the nao|khong|ra sao)|co bi (?:di tu|tu|xu ly|truy cuu|sao)|phai lam sao|lam sao|"
    r"lam the nao|nen lam gi|phai lam gi|the nao|nhu the nao|ra sao|co sao khong|co duoc khong|duoc khong|co nen|"
    r"co quyen|o dau|goi ai|bao ai|tim ai|so nao|la gi|co phai|phai khong|hay khong|dung khong|co khong)\b")
# A personal note inside a question: someone close to the writer, or the writer's own worry.
_PERSONAL_NOTE = re.compile(
    r"\b(?:chong|vo|bo|me|ba|cha|nguoi yeu|ban trai|ban gai|con|chau|chi|em|anh|ban|hang xom|nha)(?: gai| trai)? "
    r"(?:toi|em|minh|cua toi|cua em|cua minh)\b|"
    r"\b(?:toi|em|minh) (?:so|lo|buon|met|bi|dang bi|thay so|khong dam|co chuyen|dang gap)\b|\bco chuyen\b")
_QUESTION_WORD = re.compile(r"\b(?:khong|chua|gi|sao|nao|ai|dau|bao nhieu|may|ha|nhi|a)\b")


@dataclass(frozen=True)
class Decision:
    """The band of one message, with what the reply needs to know."""

    band: str                 # URGENT / UNSURE / CALM
    result: TriageResult      # level + reasons (level NONE unless band is URGENT)
    asks: bool                # the message also asks a question ("… có bình thường không?", "… có bị phạt không?")
    personal: bool            # an unclear personal note in a general question (answer + one gentle line)
    language: str             # "vi", "en", … from bot.language.detect_language


def asks_question(text: str) -> bool:
    """True when the message asks something, besides anything it tells."""
    norm = normalize(text)
    if _ASKS.search(norm):
        return True
    return (text or "").rstrip().endswith("?") and bool(_QUESTION_WORD.search(norm))


def _scores(intent: str | None, confidence: float, ranking: Sequence[Mapping[str, Any]]) -> list[tuple[str, float]]:
    """The classifier's ranking as (name, confidence), best first, with `intent` in it."""
    pairs: list[tuple[str, float]] = []
    for entry in ranking:
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(name, str):
            try:
                pairs.append((name, float(entry.get("confidence") or 0.0)))
            except (TypeError, ValueError):
                continue
    if intent and all(name != intent for name, _ in pairs):
        pairs.append((intent, float(confidence or 0.0)))
    return sorted(pairs, key=lambda pair: -pair[1])


def _classifier_band(scores: list[tuple[str, float]]) -> str:
    """What the classifier alone suggests: URGENT, UNSURE or CALM."""
    if not scores:
        return CALM
    top, top_conf = scores[0]
    if top == URGENT_INTENT:
        return URGENT if top_conf >= URGENT_CONFIDENCE else UNSURE if top_conf >= UNSURE_CONFIDENCE else CALM
    if top == WORRY_INTENT and top_conf >= WORRY_CONFIDENCE:
        return UNSURE
    second, second_conf = scores[1] if len(scores) > 1 else ("", 0.0)
    if second == URGENT_INTENT and second_conf >= UNSURE_CONFIDENCE and top_conf < CLEAR_TOP:
        return UNSURE
    return CALM


def _context_sets_aside(a: Assessment) -> str:
    """For a classifier-only guess: the context cue that overrules it ("joke", "past", "frame") or ""."""
    ctx = a.context
    if ctx.joke:
        return "joke"
    if ctx.past_over:
        return "past"
    if ctx.supposed and not ctx.present:
        return "frame"
    if not ctx.first_person and (ctx.fiction or ctx.modality or ctx.hypothetical or ctx.class_of_people):
        return "frame"
    return ""


def decide(text: str, intent: str | None, confidence: float,
           ranking: Sequence[Mapping[str, Any]] = (), rules: TriageResult | None = None) -> Decision:
    """The band of a message from the rules, the context cues and the classifier's own guess (before any override)."""
    text = text or ""
    a = explain(text, full=True)
    result = a.result
    if rules is not None and LEVEL_RANK.get(rules.urgency, 0) > LEVEL_RANK[result.urgency]:
        result = rules
    asks, language = asks_question(text), detect_language(text)
    concrete = is_concrete(text) or a.context.first_person

    def band(name: str, verdict: TriageResult = _NO_VERDICT, personal: bool = False) -> Decision:
        return Decision(name, verdict, asks, personal, language)

    if result.urgent:
        return band(URGENT, result)
    if a.demoted in _ASK_BACK:
        return band(UNSURE)
    if a.demoted:  # the rules saw harm and the context set it aside: the classifier does not undo that
        return band(CALM, personal=concrete)
    scores = _scores(intent, confidence, ranking)
    suggestion = _classifier_band(scores)
    if suggestion != CALM:
        aside = _context_sets_aside(a)
        if aside == "joke":
            return band(UNSURE)
        if aside or should_demote(text, result):
            return band(CALM, personal=concrete and aside in ("past", "frame"))
        if suggestion == URGENT and asks and not concrete and not mentions_harm(text):
            return band(UNSURE)  # a question naming no harm and no one ("is anyone there at night?"): ask, no case
        if suggestion == URGENT:
            return band(URGENT, combine(result, URGENT_INTENT, scores[0][1], URGENT_CONFIDENCE, text))
        return band(UNSURE)
    top = scores[0][0] if scores else ""
    question = asks or is_question_about(text) or top.startswith("faq")
    note = a.context.first_person or bool(_PERSONAL_NOTE.search(normalize(text)))
    return band(CALM, personal=question and note)
