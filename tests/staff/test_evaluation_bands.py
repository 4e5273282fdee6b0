"""The triage figures of the held-out evaluation, on small synthetic parse results (no model is loaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.content.hotlines import Hotlines
from bot.staff import eval_bands
from bot.staff.eval_bands import band_of, level_of, load_messages, make_rows, missing_numbers, triage_figures

FULL = "Gọi 113, 115, 111 hoặc tư vấn 1900 969 680."


class FakeLibrary:
    """Only the hotline directory, which is all the number check reads."""

    hotlines = Hotlines({"emergency": [{"number": n, "organisation": "x", "source": "s"} for n in ("113", "115", "111")],
                         "counseling": [{"number": "1900969680", "organisation": "y", "source": "s", "default": True}]})


def parse(intent: str, band: str | None = None, urgency: str | None = None) -> dict[str, Any]:
    triage = {} if band is None else {"band": band, "urgency": urgency or "none"}
    return {"intent": {"name": intent, "confidence": 0.9}, **({"triage": triage} if triage else {})}


def item(text: str, urgent: str = "none", category: str = "general_question", ambiguous: bool = False,
         lang: str = "vi") -> dict[str, Any]:
    return {"text": text, "intent": None, "urgent": urgent, "ambiguous": ambiguous, "category": category,
            "lang": lang, "source": "t"}


def rows_of(pairs: list[tuple[dict[str, Any], dict[str, Any]]], reply: str = FULL) -> list[dict[str, Any]]:
    return make_rows([i for i, _ in pairs], [p for _, p in pairs], lambda text: False, lambda row: reply,
                     FakeLibrary())


def test_the_band_is_read_from_the_parse_data_first() -> None:
    assert band_of(parse("faq", "unsure")) == "unsure"
    assert band_of(parse("report_violence", "calm")) == "calm"


def test_the_band_of_an_older_model_is_derived_from_the_intent() -> None:
    assert band_of(parse("report_violence")) == "urgent"
    assert band_of(parse("describe_worry")) == "unsure"
    assert band_of(parse("faq")) == "calm"
    assert band_of({"intent": {"name": "greet"}, "triage": {"band": "bogus"}}) == "calm"
    assert band_of({}) == "calm"


def test_the_level_defaults_to_needs_support_only_when_urgent() -> None:
    assert level_of(parse("report_violence", "urgent", "danger_now")) == "danger_now"
    assert level_of(parse("report_violence")) == "needs_support"
    assert level_of(parse("describe_worry", "unsure", "danger_now")) == "none"


def test_recall_false_alarms_ambiguous_and_calm_checks() -> None:
    rows = rows_of([
        (item("chồng đang đánh tôi", "danger_now", "danger_now"), parse("report_violence", "urgent", "danger_now")),
        (item("chong dang danh toi", "danger_now", "danger_now"), parse("describe_worry", "unsure")),
        (item("em bị sàm sỡ", "needs_support", "workplace_harassment"), parse("x", "urgent", "danger_now")),
        (item("em sợ chồng", ambiguous=True, category="ambiguous"), parse("describe_worry", "unsure")),
        (item("em so chong", ambiguous=True, category="ambiguous"), parse("faq", "calm")),
        (item("giờ làm việc?", category="counseling_hours"), parse("report_violence", "urgent", "needs_support")),
        (item("luat la gi", category="law_question"), parse("describe_worry", "unsure")),
        (item("haha", category="joke"), parse("faq", "calm")),
        (item("xin chào", category="general_question"), parse("greet", "calm")),
        (item("my husband hits me", "needs_support", "english", lang="en"), parse("report_violence")),
    ])
    figures = triage_figures(rows)
    overall = figures["triage"]["all"]
    assert (overall["urgent"], overall["not_urgent"], overall["ambiguous"]) == (4, 4, 2)
    assert overall["urgent_recall"] == 0.75
    assert overall["false_alarm_rate"] == 0.25
    assert overall["calm_safety_check_rate"] == 0.25
    assert overall["ambiguous_handled"] == 0.5 and overall["ambiguous_as_case"] == 0.0
    assert overall["level_accuracy"] == round(2 / 3, 4)  # the harassment message was caught as danger_now
    assert overall["danger_now_as_question"] == 0.5
    assert overall["numbers_in_urgent_replies"] == 1.0
    assert [m["text"] for m in figures["misses"]] == ["chong dang danh toi"]
    assert [m["text"] for m in figures["false_alarms"]] == ["giờ làm việc?"]
    assert [m["text"] for m in figures["calm_safety_checks"]] == ["luat la gi"]
    assert [m["text"] for m in figures["ambiguous_unhandled"]] == ["em so chong"]
    assert [m["text"] for m in figures["wrong_level"]] == ["em bị sàm sỡ"]


def test_the_split_by_diacritics_counts_vietnamese_only() -> None:
    rows = rows_of([
        (item("chồng đang đánh tôi", "danger_now"), parse("report_violence")),
        (item("chong dang danh toi", "danger_now"), parse("greet")),
        (item("my husband is hitting me", "danger_now", lang="en"), parse("report_violence")),
    ])
    splits = triage_figures(rows)["triage"]
    assert splits["with_diacritics"]["urgent_recall"] == 1.0
    assert splits["without_diacritics"]["urgent_recall"] == 0.0
    assert splits["without_diacritics"]["messages"] == 1
    assert splits["other_languages"]["urgent_recall"] == 1.0
    assert splits["all"]["urgent_recall"] == round(2 / 3, 4)


def test_per_category_and_per_language() -> None:
    rows = rows_of([
        (item("a", "needs_support", "elder_abuse"), parse("report_violence")),
        (item("b", "needs_support", "elder_abuse"), parse("greet")),
        (item("c", category="joke"), parse("report_violence")),
        (item("d", category="joke", lang="en"), parse("greet")),
    ])
    figures = triage_figures(rows)
    assert figures["by_category"]["elder_abuse"]["urgent_recall"] == 0.5
    assert figures["by_category"]["joke"]["false_alarm_rate"] == 0.5
    assert figures["by_category"]["joke"]["urgent_recall"] is None  # no urgent message: not measurable
    assert figures["by_language"]["en"]["false_alarm_rate"] == 0.0
    assert figures["by_language"]["vi"]["messages"] == 3


def test_empty_groups_are_not_measurable_rather_than_perfect() -> None:
    overall = triage_figures(rows_of([(item("xin chào"), parse("greet"))]))["triage"]["all"]
    assert overall["urgent_recall"] is None and overall["ambiguous_handled"] is None
    assert overall["numbers_in_urgent_replies"] is None


def test_an_urgent_reply_needs_every_emergency_number_and_a_counseling_line() -> None:
    library = FakeLibrary()
    assert missing_numbers(FULL, library) == []
    assert missing_numbers("Gọi 113 hoặc 115.", library) == ["111", "counseling"]
    assert missing_numbers("Gọi 1113, 1150, 111 hoặc 1900969680", library) == ["113", "115"]
    assert missing_numbers("113 115 111 1900.969.680", library) == []


def test_replies_are_checked_only_for_messages_answered_as_urgent() -> None:
    pairs = [(item("chồng đang đánh tôi", "danger_now"), parse("report_violence")),
             (item("xin chào"), parse("greet"))]
    figures = triage_figures(rows_of(pairs, reply="Gọi 113."))
    assert figures["triage"]["all"]["numbers_in_urgent_replies"] == 0.0
    assert [(r["text"], r["missing_numbers"]) for r in figures["replies_without_numbers"]] == [
        ("chồng đang đánh tôi", ["115", "111", "counseling"])]


def test_listed_texts_are_masked() -> None:
    text = "Tôi tên là Nguyễn Văn An, số 0912345678, chồng đang đánh tôi"
    figures = triage_figures(rows_of([(item(text, "danger_now"), parse("greet"))]))
    shown = figures["misses"][0]["text"]
    assert "0912345678" not in shown and "Nguyễn Văn An" not in shown


def test_messages_load_with_defaults_and_bad_levels_are_refused(tmp_path: Path) -> None:
    good = tmp_path / "a.yml"
    good.write_text('messages:\n  - text: "hi"\n    urgent: none\n    lang: en\n    category: general_question\n'
                    '  - text: "em sợ"\n    intent: describe_worry\n    urgent: none\n    ambiguous: true\n',
                    encoding="utf-8")
    other = tmp_path / "b.yml"
    other.write_text('messages:\n  - text: "cứu"\n    urgent: danger_now\n', encoding="utf-8")
    items = load_messages([good, other])
    assert [(m["lang"], m["ambiguous"], m["category"], m["intent"]) for m in items] == [
        ("en", False, "general_question", None), ("vi", True, "uncategorised", "describe_worry"),
        ("vi", False, "uncategorised", None)]
    bad = tmp_path / "c.yml"
    bad.write_text('messages:\n  - text: "x"\n    urgent: yes\n', encoding="utf-8")
    with pytest.raises(ValueError):
        load_messages([bad])


def test_the_report_section_lists_bars_and_errors() -> None:
    rows = rows_of([(item("chong dang danh | `toi`", "danger_now", "danger_now"), parse("greet")),
                    (item("haha", category="joke"), parse("report_violence"))])
    text = "\n".join(eval_bands.render_triage(triage_figures(rows)))
    assert "## The bars of issue 9" in text
    assert "| urgent recall | >= 99.0% | 0.0% ✗ |" in text
    assert "## Urgent messages missed (1)" in text and "`chong dang danh / 'toi'`" in text
    assert "## False alarms (calm message, case opened) (1)" in text
    assert "| danger now |" in text and "| joke |" in text
