"""The hotline directory serves everyone: a province's own line only to that province, national 24/7 lines to all.

Also: every counseling line names its scope, source and check date; the staff export/import and content checks
carry the `scope` field.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.config import CONTENT_DIR, ROOT
from bot.content.hotlines import Hotlines
from bot.content.library import Library
from bot.content.provinces import ProvinceMatch
from bot.replies import hotline_block, hotline_reply
from bot.staff.checks import check_hotlines, errors, other_nlu_examples
from bot.staff.sheets import SheetError, export_csv, export_xlsx, import_sheets, read_any
from bot.staff.store import load_content

SOC_TRANG = "0377672444"
PEACE_HOUSE = "1900969680"
FARMERS = "18001768"
CHECKED = date(2026, 12, 2)


def _find(library: Library, text: str) -> ProvinceMatch:
    match = library.provinces.find(text)
    assert match is not None, text
    return match


def test_national_lines_are_in_the_directory_with_source_and_date() -> None:
    data = yaml.safe_load((CONTENT_DIR / "hotlines.yml").read_text(encoding="utf-8"))
    national = {str(h["number"]): h for h in data["counseling"] if h.get("scope") == "national"}
    assert {PEACE_HOUSE, FARMERS} <= set(national)
    for line in national.values():
        assert "24/7" in line["hours"] and line["source"].strip() and line["checked"] == CHECKED
        assert not line.get("province")
    [default] = [h for h in data["counseling"] if h.get("default")]
    assert default["scope"] == "national"
    for line in data["counseling"]:
        assert line.get("scope") in {"national", "province"}


def test_province_with_its_own_line_gets_it_and_a_national_line(library: Library) -> None:
    block = hotline_block(library, _find(library, "tôi ở Sóc Trăng"))
    assert SOC_TRANG in block and "Sóc Trăng" in block
    assert PEACE_HOUSE in block and "toàn quốc (24/7)" in block
    assert "chưa có số riêng" not in block


@pytest.mark.parametrize("text", ["tôi ở Hà Giang", "o ha noi", "Đà Nẵng", "tp hcm", "kon tum"])
def test_province_without_a_line_gets_a_national_line_never_another_provinces(library: Library, text: str) -> None:
    province = _find(library, text)
    block = hotline_block(library, province)
    assert SOC_TRANG not in block and "Sóc Trăng" not in block
    assert f"Tư vấn toàn quốc (24/7): {PEACE_HOUSE}" in block
    assert f"chưa có số tư vấn riêng cho {province.label()}" in block
    for number in ("113", "115", "111"):
        assert number in block


def test_unknown_province_gets_national_lines_only(library: Library) -> None:
    block = hotline_block(library, None)
    assert SOC_TRANG not in block
    assert PEACE_HOUSE in block and FARMERS in block
    assert "chưa có số" not in block


def test_same_merged_province_sees_the_former_provinces_line_named_as_such(library: Library) -> None:
    """Sóc Trăng is now part of Cần Thơ: a Cần Thơ resident may see the line, labelled as Sóc Trăng's."""
    block = hotline_block(library, _find(library, "tôi ở Cần Thơ"))
    assert f"Tư vấn tại Sóc Trăng (nay thuộc Cần Thơ): {SOC_TRANG}" in block
    assert PEACE_HOUSE in block


def test_hotline_reply_for_a_province_without_a_line(library: Library) -> None:
    reply = hotline_reply(library, _find(library, "số đường dây nóng ở Hà Giang"))
    assert PEACE_HOUSE in reply and SOC_TRANG not in reply


def test_counseling_for_returns_own_and_national_lines(library: Library) -> None:
    own = library.hotlines.counseling_for(_find(library, "sóc trăng"), library.provinces)
    assert [h.number for h in own.own] == [SOC_TRANG] and own.named_own
    assert own.national[0].number == PEACE_HOUSE and own.national[0].default
    none = library.hotlines.counseling_for(_find(library, "hà giang"), library.provinces)
    assert none.own == () and [h.number for h in none.national] == [PEACE_HOUSE, FARMERS]


def test_a_line_without_scope_is_national_only_without_a_province() -> None:
    hotlines = Hotlines({"emergency": [{"number": "113", "organisation": "Công an", "source": "x"}],
                         "counseling": [{"number": "0377672444", "organisation": "A", "source": "x", "province": "Sóc Trăng"},
                                        {"number": "18001768", "organisation": "B", "source": "x", "default": True}]})
    assert [h.scope for h in hotlines.counseling] == ["province", "national"]


# --- staff tools -------------------------------------------------------------------------------------------------

@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the working tree's content and training data (the directory as edited here)."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copytree(ROOT / "data" / "nlu", root / "data" / "nlu")
    return root


def _import(repo: Path, source: Path) -> tuple[bool, list[str], object]:
    errs: list[SheetError] = []
    sheets = read_any(source, errs)
    content = load_content(repo / "content")
    result = import_sheets(sheets, repo / "content", content, CHECKED, None, other_nlu_examples(repo / "data" / "nlu"),
                           errs)
    return result.ok, [e.line() for e in result.errors], result


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_sheets_round_trip_keeps_scope(repo: Path, tmp_path: Path, kind: str) -> None:
    before = (repo / "content" / "hotlines.yml").read_text(encoding="utf-8")
    content = load_content(repo / "content")
    if kind == "xlsx":
        export_xlsx(content, tmp_path / "x.xlsx")
        source = tmp_path / "x.xlsx"
    else:
        export_csv(content, tmp_path / "csv")
        source = tmp_path / "csv"
        assert "Phạm vi" in (tmp_path / "csv" / "hotlines.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    ok, errs, result = _import(repo, source)
    assert ok, errs
    assert result.plan.empty()
    assert (repo / "content" / "hotlines.yml").read_text(encoding="utf-8") == before


def _edit_csv_row(tmp_path: Path, number: str, old: str, new: str) -> None:
    path = tmp_path / "csv" / "hotlines.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    edited = [line.replace(old, new, 1) if number in line else line for line in lines]
    assert edited != lines
    path.write_text("\n".join(edited) + "\n", encoding="utf-8-sig")


def test_sheet_edit_of_scope_is_checked_then_written(repo: Path, tmp_path: Path) -> None:
    export_csv(load_content(repo / "content"), tmp_path / "csv")
    _edit_csv_row(tmp_path, FARMERS, ",toàn quốc,,", ",tỉnh,,")  # a province line without its province
    ok, errs, _ = _import(repo, tmp_path / "csv")
    assert not ok and any("Tỉnh/thành" in e and "cần ghi tỉnh/thành" in e for e in errs), errs
    _edit_csv_row(tmp_path, FARMERS, ",tỉnh,,", ",tỉnh,Hà Nội,")
    ok, errs, result = _import(repo, tmp_path / "csv")
    assert ok, errs
    result.plan.apply()
    [line] = [h for h in yaml.safe_load((repo / "content" / "hotlines.yml").read_text(encoding="utf-8"))["counseling"]
              if str(h["number"]) == FARMERS]
    assert line["scope"] == "province" and line["province"] == "Hà Nội"


def test_bad_scope_word_is_a_located_error(repo: Path, tmp_path: Path) -> None:
    export_csv(load_content(repo / "content"), tmp_path / "csv")
    path = tmp_path / "csv" / "hotlines.csv"
    text = path.read_text(encoding="utf-8-sig").replace("toàn quốc", "khắp nơi", 1)
    path.write_text(text, encoding="utf-8-sig")
    ok, errs, _ = _import(repo, tmp_path / "csv")
    assert not ok and any("Phạm vi" in e and "khắp nơi" in e for e in errs), errs


def test_content_checks_accept_the_directory() -> None:
    content = load_content(CONTENT_DIR)
    assert [p.line() for p in errors(check_hotlines(content, None, CHECKED))] == []


@pytest.mark.parametrize(("change", "code"), [
    ({"scope": "everywhere"}, "bad_scope"),
    ({"scope": "national", "province": "Sóc Trăng"}, "national_province"),
    ({"scope": "province", "province": None}, "province_missing"),
])
def test_content_checks_on_scope(change: dict, code: str) -> None:
    content = load_content(CONTENT_DIR)
    line = dict(content.hotlines["counseling"][0])
    line.update(change)
    content.hotlines["counseling"][0] = {k: v for k, v in line.items() if v is not None}
    assert code in {p.code for p in errors(check_hotlines(content, None, CHECKED))}


def test_content_checks_want_a_national_default() -> None:
    content = load_content(CONTENT_DIR)
    for line in content.hotlines["counseling"]:
        line.pop("default", None)
        if line.get("scope") == "province":
            line["default"] = True
    assert "default_not_national" in {p.code for p in errors(check_hotlines(content, None, CHECKED))}
