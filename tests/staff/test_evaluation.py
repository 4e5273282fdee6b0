"""The held-out evaluation end to end on synthetic parse results: figures, replies, report, command line, gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.config import CONTENT_DIR
from bot.content.library import Library
from bot.replies import urgent_reply
from bot.replies_en import urgent_reply_en
from bot.staff import evaluation
from bot.staff.eval_bands import load_messages
from bot.staff.gate import decide
from bot.triage import TriageResult


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(CONTENT_DIR)


def parse(intent: str, band: str | None = None, urgency: str = "none", topic: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"intent": {"name": intent, "confidence": 0.9}}
    if band:
        data["triage"] = {"band": band, "urgency": urgency, "classifier": {"name": intent, "confidence": 0.9}}
    if topic:
        data["response_selector"] = {"faq": {"response": {"intent_response_key": topic}}}
    return data


def msg(text: str, urgent: str = "none", intent: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"text": text, "intent": intent, "urgent": urgent, "ambiguous": False, "category": "general_question",
            "lang": "vi", "source": "t", **extra}


ITEMS = [
    msg("Chồng tôi đang đánh tôi ở Cần Thơ", "danger_now", "report_violence", category="danger_now"),
    msg("chong toi dang danh toi", "danger_now", "report_violence", category="danger_now"),
    msg("em sợ chồng em lắm", intent="describe_worry", ambiguous=True, category="ambiguous"),
    msg("Tư vấn viên làm việc mấy giờ?", intent="faq/counseling_center", category="counseling_hours"),
    msg("haha vợ tui mà biết là 'giết' tui", category="joke"),
    msg("my husband hits me", "needs_support", "report_violence", category="english", lang="en"),
]
PARSES = [
    parse("report_violence", "urgent", "danger_now"),
    parse("faq", topic="faq/where_to_report"),  # an older model: no band, derived calm; a miss
    parse("describe_worry", "unsure"),
    parse("faq", "calm", topic="faq/counseling_center"),
    parse("report_violence"),  # derived urgent: a false alarm
    parse("report_violence", "urgent", "needs_support"),
]


def test_figures_on_synthetic_parses(library: Library) -> None:
    result = evaluation.figures(ITEMS, PARSES, library)
    assert result["messages"] == 6 and result["labelled"] == 5
    assert result["intent_accuracy"] == 0.8  # faq/where_to_report instead of report_violence
    assert result["urgent_recall"] == round(2 / 3, 4)
    assert result["false_alarm_rate"] == 0.5
    assert result["ambiguous_handled"] == 1.0 and result["calm_safety_check_rate"] == 0.0
    assert result["level_accuracy"] == 1.0
    assert result["numbers_in_urgent_replies"] == 1.0  # composed from the real directory
    assert result["triage"]["without_diacritics"]["urgent_recall"] == 0.0
    assert result["triage"]["with_diacritics"]["urgent_recall"] == 1.0
    assert result["triage"]["other_languages"]["urgent_recall"] == 1.0
    assert result["by_category"]["joke"]["false_alarm_rate"] == 1.0
    assert [m["pred_intent"] for m in result["misses"]] == ["faq/where_to_report"]
    assert [m["text"] for m in result["false_alarms"]] == ["haha vợ tui mà biết là 'giết' tui"]
    json.dumps(result, ensure_ascii=False)  # the training pipeline stores it as JSON


def test_the_reply_is_composed_in_the_language_of_the_message(library: Library) -> None:
    compose = evaluation.compose_urgent(library)
    row = {"text": "my husband is hitting me in Da Nang", "level": "danger_now", "lang": "en"}
    english = compose(row)
    province = library.provinces.find(row["text"])
    assert urgent_reply_en(TriageResult("danger_now", ("đánh giá",)), library, province, 1, True) in english
    vietnamese = compose({**row, "lang": "vi"})
    assert urgent_reply(TriageResult("danger_now", ("đánh giá",)), library, province, 1, True) in vietnamese
    assert english != vietnamese
    # both outcomes of recording the case are checked: the "not recorded" text is part of what is composed
    assert urgent_reply(TriageResult("danger_now"), library, province, None, False) in vietnamese


def test_the_report_renders_every_section(library: Library) -> None:
    items = [*ITEMS, msg("Tôi tên là Nguyễn Thị Hoa, số 0912345678, chồng đang đánh tôi", "danger_now",
                         "report_violence")]
    result = {"model": "m.tar.gz", "data": "a.yml, b.yml", "mean_parse_ms": 1.0,
              **evaluation.figures(items, [*PARSES, parse("greet", "calm")], library)}
    text = evaluation.render(result)
    for heading in ("## Headline", "## Intents", "## Triage bands", "## The bars of issue 9", "## Per category",
                    "## Per language", "## Urgent messages missed (2)", "## False alarms (calm message, case opened) (1)",
                    "## Per intent", "## Intent errors"):
        assert heading in text
    assert "| urgent recall | 50.0% |" in text
    assert "0912345678" not in text and "Nguyễn Thị Hoa" not in text


def test_the_gate_still_refuses_a_recall_drop_measured_here(library: Library) -> None:
    good = evaluation.figures(ITEMS[:1], PARSES[:1], library)
    worse = evaluation.figures(ITEMS[:2], PARSES[:2], library)
    decision = decide(worse, good)
    assert not decision.accepted
    assert "urgent_recall" in {c.name for c in decision.checks if not c.passed}
    assert decide(good, good).accepted


def test_the_command_line_takes_several_data_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "heldout.yml", tmp_path / "blind.yml"
    first.write_text('messages:\n  - text: "chồng đang đánh tôi"\n    intent: report_violence\n    urgent: danger_now\n',
                     encoding="utf-8")
    second.write_text('messages:\n  - text: "hello"\n    intent: other_language\n    urgent: none\n    lang: en\n',
                      encoding="utf-8")
    seen: list[str] = []

    async def fake_parse_all(model_path: str, texts: list[str]) -> tuple[list[dict[str, Any]], float]:
        seen.extend(texts)
        return [parse("report_violence", "urgent", "danger_now"), parse("other_language", "calm")], 0.001

    monkeypatch.setattr(evaluation, "parse_all", fake_parse_all)
    out, figures = tmp_path / "report.md", tmp_path / "figures.json"
    assert evaluation.main(["--model", "m", "--data", str(first), "--data", str(second), "--out", str(out),
                            "--json", str(figures)]) == 0
    assert seen == ["chồng đang đánh tôi", "hello"]
    data = json.loads(figures.read_text(encoding="utf-8"))
    assert data["messages"] == 2 and data["urgent_recall"] == 1.0 and data["false_alarm_rate"] == 0.0
    assert data["intent_accuracy"] == 1.0
    assert f"{first}, {second}" in out.read_text(encoding="utf-8")


def test_the_held_out_files_are_well_formed() -> None:
    root = Path(__file__).resolve().parents[2] / "tests" / "eval"
    for name in ("heldout.yml", "blind.yml"):
        items = load_messages([root / name])
        assert all(m["intent"] for m in items), name  # the pipeline's simple model reads every intent
        assert all(m["urgent"] == "none" for m in items if m["ambiguous"]), name
        assert len({m["text"].lower() for m in items}) == len(items), name
