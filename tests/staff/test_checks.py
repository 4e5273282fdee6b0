"""Each content check with a failing example, and the current content passing them all."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.content.provinces import Provinces
from bot.staff.checks import (
    ERROR,
    check_content,
    errors,
    new_problems,
    other_nlu_examples,
    phone_numbers,
)
from bot.staff.store import Content, load_content
from bot.text import fold

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base() -> Content:
    return load_content(ROOT / "content")


@pytest.fixture(scope="module")
def provinces() -> Provinces:
    return Provinces.load(ROOT / "content" / "provinces.yml")


@pytest.fixture(scope="module")
def others() -> list[tuple[str, str]]:
    return other_nlu_examples(ROOT / "data" / "nlu")


def codes(content: Content, today: date, provinces: Provinces, others: list[tuple[str, str]] | None = None,
          severity: str = ERROR) -> set[tuple[str, str, str | None]]:
    return {(p.code, p.item, p.field) for p in check_content(content, today, provinces, others or [])
            if p.severity == severity}


def test_current_content_passes(base: Content, day: date, provinces: Provinces, others) -> None:
    problems = check_content(base, day, provinces, others)
    assert errors(problems) == []


def test_duplicate_example_across_topics(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    taken = content.topics["gender_equality_definition"]["examples"][0]
    content.topics["safety_plan"]["examples"].append(taken)
    found = codes(content, day, provinces)
    assert ("duplicate_example", "gender_equality_definition", "examples") in found \
        or ("duplicate_example", "safety_plan", "examples") in found


def test_folded_duplicate_is_a_duplicate(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    taken = content.topics["gender_equality_definition"]["examples"][0]
    content.topics["safety_plan"]["examples"].append(fold(taken).upper() + " ?")
    assert any(c[0] == "duplicate_example" for c in codes(content, day, provinces))


def test_near_duplicate_across_topics(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    original = "ke hoach an toan cho phu nu bi bao luc gia dinh gom nhung buoc nao va can chuan bi gi"
    content.topics["safety_plan"]["examples"].append(original)
    content.topics["help_a_friend"]["examples"].append(original + " a")
    problems = [p for p in check_content(content, day, provinces, []) if p.code == "near_duplicate_example"]
    assert problems and problems[0].severity == ERROR
    assert not [p for p in check_content(base, day, provinces, []) if p.code == "near_duplicate_example"]


def test_duplicate_with_another_intent(base: Content, day: date, provinces: Provinces, others) -> None:
    content = copy.deepcopy(base)
    text = next(t for i, t in others if i == "ask_hotline")
    content.topics["safety_plan"]["examples"].append(text)
    assert ("duplicate_example", "safety_plan", "examples") in codes(content, day, provinces, others)


def test_too_few_examples(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.topics["safety_plan"]["examples"] = content.topics["safety_plan"]["examples"][:9]
    assert ("few_examples", "safety_plan", "examples") in codes(content, day, provinces)


def test_examples_only_with_diacritics(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    from bot.text import has_diacritics

    examples = content.topics["safety_plan"]["examples"]
    plain = [e for e in examples if not has_diacritics(e)]
    content.topics["safety_plan"]["examples"] = [e for e in examples if has_diacritics(e)] + plain[:2]
    assert ("few_plain_examples", "safety_plan", "examples") in codes(content, day, provinces)
    content.topics["safety_plan"]["examples"].append(plain[2])
    assert ("few_plain_examples", "safety_plan", "examples") not in codes(content, day, provinces)


def test_answer_too_long(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.topics["safety_plan"]["answer"] = "Nội dung dài. " * 150
    assert len(content.topics["safety_plan"]["answer"]) > 2000
    assert ("answer_too_long", "safety_plan", "answer") in codes(content, day, provinces)


def test_unknown_phone_in_answer(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.topics["safety_plan"]["answer"] += " Gọi 0912 345 678 để được giúp."
    assert ("unknown_phone", "safety_plan", "answer") in codes(content, day, provinces)


def test_short_code_not_in_directory(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.topics["safety_plan"]["answer"] += " Cháy nổ gọi 114."
    assert ("unknown_phone", "safety_plan", "answer") in codes(content, day, provinces)


def test_changed_hotline_flags_answers_with_the_old_number(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.hotlines["counseling"][0]["number"] = "0912345678"
    assert ("unknown_phone", "counseling_center", "answer") in codes(content, day, provinces)


def test_phone_regex() -> None:
    text = ("Gọi 113, 115 hoặc 0377 672 444, +84 912 345 678, 1900 1234. Theo Điều 113 Bộ luật, "
            "Nghị định 111/2013/NĐ-CP, năm 2022, 1.500 ký tự.")
    assert phone_numbers(text) == ["113", "115", "0377672444", "0912345678", "19001234"]


def test_missing_source(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.topics["safety_plan"]["source"] = "  "
    assert ("missing_source", "safety_plan", "source") in codes(content, day, provinces)


def test_review_older_than_a_year(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.topics["safety_plan"]["checked"] = day - timedelta(days=366)
    assert ("stale_review", "safety_plan", "checked") in codes(content, day, provinces)
    content.topics["safety_plan"]["checked"] = day - timedelta(days=364)
    assert ("stale_review", "safety_plan", "checked") not in codes(content, day, provinces)


def test_review_date_in_the_future(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.topics["safety_plan"]["checked"] = day + timedelta(days=1)
    assert ("future_date", "safety_plan", "checked") in codes(content, day, provinces)


def test_topic_name_must_match_file(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.topics["safety_plan"]["topic"] = "safety"
    assert ("topic_mismatch", "safety_plan", "topic") in codes(content, day, provinces)


def test_event_rows(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    good = dict(content.events[0])
    content.events = [
        good,
        {**good, "title": ""},
        {**good, "date": "31/02/2026"},
        {**good, "province": "Xứ Sở Thần Tiên"},
        {**good, "time": "25:00"},
        {k: v for k, v in good.items() if k != "source"},
    ]
    found = codes(content, day, provinces)
    assert ("missing_field", "2", "title") in found
    assert ("bad_date", "3", "date") in found
    assert ("unknown_province", "4", "province") in found
    assert ("bad_time", "5", "time") in found
    assert ("missing_source", "6", "source") in found
    assert not {c for c in found if c[1] == "1"}


def test_hotline_rows(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    default = next(h for h in content.hotlines["counseling"] if h.get("default"))
    content.hotlines["counseling"].append({**default, "number": "12345"})
    found = codes(content, day, provinces)
    assert ("bad_number", f"counseling:{len(content.hotlines['counseling'])}", "number") in found
    assert ("default_line", "counseling:", "default") in found


def test_113_must_stay(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.hotlines["emergency"] = [h for h in content.hotlines["emergency"] if h["number"] != "113"]
    assert ("missing_113", "emergency:", "number") in codes(content, day, provinces)


def test_stale_hotline(base: Content, day: date, provinces: Provinces) -> None:
    content = copy.deepcopy(base)
    content.hotlines["emergency"][0]["checked"] = day - timedelta(days=400)
    assert ("stale_review", "emergency:1", "checked") in codes(content, day, provinces)


def test_new_problems_tells_old_from_new(base: Content, day: date, provinces: Provinces) -> None:
    before = copy.deepcopy(base)
    before.topics["safety_plan"]["source"] = ""
    after = copy.deepcopy(before)
    after.topics["help_a_friend"]["source"] = ""
    fresh, old = new_problems(check_content(before, day, provinces), check_content(after, day, provinces))
    assert [(p.code, p.item) for p in fresh] == [("missing_source", "help_a_friend")]
    assert [(p.code, p.item) for p in old] == [("missing_source", "safety_plan")]
