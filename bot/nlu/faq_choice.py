"""Answer, ask "did you mean", or say "not on file": one decision over Rasa's parse of an FAQ question.

`decide(parse)` reads the ResponseSelector's ranking for the retrieval intent `faq`
(`parse["response_selector"]["faq"]["ranking"]`, entries `{intent_response_key, confidence}`) and the intent's
own confidence, and returns a `Choice`:
- ANSWER the top topic when it is clearly ahead;
- ASK with the two or three closest topics when the top is not sure or the top two are close;
- NOT_ON_FILE when even the best topic is very unlikely (the content cannot answer the question).

Guarantees: pure (no I/O, never raises on missing or malformed parse data); every topic a `Choice` names is a
`faq/<topic>` key taken from the ranking, so an ASK never offers anything but FAQ topics; the ranking is read
best first whatever order it came in. The thresholds are chosen by `python -m bot.staff.calibrate_faq` on
tests/calibration/ (never on an evaluation file); the figures are in docs/nlu-pipeline.md ("Did you mean").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ANSWER, ASK, NOT_ON_FILE = "answer", "ask", "not_on_file"
FAQ_PREFIX = "faq/"
MAX_OPTIONS = 3

@dataclass(frozen=True)
class Thresholds:
    """When to answer, ask or say "not on file" (values: docs/nlu-pipeline.md, "Did you mean")."""

    # Chosen by `python -m bot.staff.calibrate_faq` on tests/calibration/ with the model of 2026-12-02 (77 topics):
    # the most right answers with at most 5% confident wrong ones; see docs/nlu-pipeline.md ("Did you mean").
    not_on_file_below: float = 0.20  # best topic under this: the content most likely cannot answer
    answer_from: float = 0.30        # best topic at least this sure ...
    answer_margin: float = 0.15      # ... and this far ahead of the second
    intent_sure: float = 0.60        # the classifier unsure the message is an FAQ question at all: ask
    option_min: float = 0.05         # the third topic is offered only from this confidence (else two options)


THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Choice:
    """What to do with an FAQ question: `kind`, the topics concerned (best first) and the best confidence."""

    kind: str
    topics: tuple[str, ...] = ()
    confidence: float = 0.0

    @property
    def topic(self) -> str | None:
        """The best topic (`faq/<topic>`), if any."""
        return self.topics[0] if self.topics else None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no confidence


def ranking_of(parse: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The FAQ topics of the parse with their confidence, best first (entries that are not `faq/…` dropped)."""
    selector = parse.get("response_selector") if isinstance(parse, Mapping) else None
    faq = selector.get("faq") if isinstance(selector, Mapping) else None
    if not isinstance(faq, Mapping):
        return []
    entries = faq.get("ranking")
    if not isinstance(entries, list) or not entries:
        response = faq.get("response")
        entries = [response] if isinstance(response, Mapping) else []
    ranked: dict[str, float] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        key, confidence = entry.get("intent_response_key"), _number(entry.get("confidence"))
        if isinstance(key, str) and key.startswith(FAQ_PREFIX) and len(key) > len(FAQ_PREFIX) \
                and confidence is not None:
            ranked[key] = max(confidence, ranked.get(key, 0.0))
    return sorted(ranked.items(), key=lambda item: -item[1])


def intent_confidence(parse: Mapping[str, Any]) -> float:
    """The classifier's confidence that this is an FAQ question (1.0 when the parse does not say)."""
    intent = parse.get("intent") if isinstance(parse, Mapping) else None
    if not isinstance(intent, Mapping) or intent.get("name") != "faq":
        return 1.0
    confidence = _number(intent.get("confidence"))
    return 1.0 if confidence is None else confidence


def decide(parse: Mapping[str, Any], limits: Thresholds = THRESHOLDS) -> Choice:
    """ANSWER, ASK (2–3 topics) or NOT_ON_FILE for the parse of one message classified `faq`."""
    ranked = ranking_of(parse)
    if not ranked:
        return Choice(NOT_ON_FILE)
    best_key, best = ranked[0]
    if best < limits.not_on_file_below:
        return Choice(NOT_ON_FILE, (), best)
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if best >= limits.answer_from and best - second >= limits.answer_margin \
            and intent_confidence(parse) >= limits.intent_sure:
        return Choice(ANSWER, (best_key,), best)
    if len(ranked) < 2:
        return Choice(ANSWER, (best_key,), best)  # nothing to offer beside it
    options = [ranked[0][0], ranked[1][0]]
    options += [key for key, confidence in ranked[2:MAX_OPTIONS] if confidence >= limits.option_min]
    return Choice(ASK, tuple(options), best)


def offered_topics(parse: Mapping[str, Any], limits: Thresholds = THRESHOLDS) -> list[str] | None:
    """The evaluation hook (`bot.staff.eval_faq`'s `did_you_mean`): the topics offered instead of an answer.

    None when the assistant answers (an FAQ topic, or another intent: its own rule answers it); the `faq/<topic>`
    keys of an ASK; an empty list for "not on file" (an honest "not sure", naming no topic).
    """
    intent = parse.get("intent") if isinstance(parse, Mapping) else None
    if not isinstance(intent, Mapping) or intent.get("name") != "faq":
        return None
    choice = decide(parse, limits)
    if choice.kind == ANSWER:
        return None
    return list(choice.topics) if choice.kind == ASK else []
