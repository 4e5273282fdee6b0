"""The "did you mean" calibration: outcomes of each question under given thresholds (no model needed)."""

from __future__ import annotations

from pathlib import Path

from bot.nlu.faq_choice import THRESHOLDS, Thresholds
from bot.staff.calibrate_faq import load, outcome, score

LIMITS = Thresholds(not_on_file_below=0.2, answer_from=0.5, answer_margin=0.2)


def parse(*ranking: tuple[str, float], intent: str = "faq") -> dict:
    """A parse with the ResponseSelector's ranking."""
    entries = [{"intent_response_key": k, "confidence": c} for k, c in ranking]
    return {"intent": {"name": intent, "confidence": 0.9},
            "response_selector": {"faq": {"response": entries[0] if entries else {}, "ranking": entries}}}


def test_each_outcome() -> None:
    on, off = {"topic": "a"}, {"expect": "not_on_file"}
    assert outcome(on, parse(("faq/a", 0.8), ("faq/b", 0.1)), LIMITS) == "right"
    assert outcome(on, parse(("faq/b", 0.8), ("faq/a", 0.1)), LIMITS) == "wrong"
    assert outcome(on, parse(("faq/b", 0.4), ("faq/a", 0.3)), LIMITS) == "ask_hit"
    assert outcome(on, parse(("faq/b", 0.4), ("faq/c", 0.3)), LIMITS) == "ask_miss"
    assert outcome(off, parse(("faq/b", 0.1), ("faq/c", 0.05)), LIMITS) == "honest"
    assert outcome(off, parse(("faq/b", 0.9), ("faq/c", 0.05)), LIMITS) == "wrong"
    assert outcome(on, parse(("faq/a", 0.9), intent="ask_hotline"), LIMITS) == "other"


def test_shares_are_per_group(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text('questions:\n  - {text: "q1", topic: a}\n  - {text: "q2", expect: not_on_file}\n',
                                    encoding="utf-8")
    questions = load(tmp_path)
    shares = score(questions, [parse(("faq/a", 0.9), ("faq/b", 0.0)), parse(("faq/b", 0.1))], LIMITS)
    assert shares == {"answerable": {"right": 1.0}, "not_on_file": {"honest": 1.0}}


def test_the_calibration_set_names_only_topics_on_file() -> None:
    root = Path(__file__).resolve().parents[2]
    topics = {p.stem for p in (root / "content" / "faq").glob("*.yml")}
    questions = load(root / "tests" / "calibration")
    assert len(questions) >= 100
    assert {q["topic"] for q in questions if q.get("topic")} <= topics


def test_the_thresholds_in_service_are_ordered() -> None:
    assert 0 < THRESHOLDS.not_on_file_below < THRESHOLDS.answer_from <= 1 and THRESHOLDS.answer_margin >= 0
