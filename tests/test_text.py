"""Normalisation: the same message with or without diacritics and teencode looks the same."""

import pytest

from bot.text import fold, has_diacritics, is_meaningful, mask_pii, normalize


@pytest.mark.parametrize(("typed", "expected"), [
    ("Chồng tôi đánh tôi", "chong toi danh toi"),
    ("ck toi danh toi", "chong toi danh toi"),
    ("e bi ck danh", "em bi chong danh"),
    ("tui hông biết", "toi khong biet"),
    ("ko dc j het", "khong duoc gi het"),
    ("CỨUUUU TÔI", "cuu toi"),
    ("<b>xin chào</b>", "xin chao"),
    ("Đường dây nóng", "duong day nong"),
])
def test_normalize_folds_accents_and_teencode(typed: str, expected: str) -> None:
    assert normalize(typed) == expected


def test_fold_keeps_letters_but_drops_marks() -> None:
    assert fold("Bình đẳng giới") == "binh dang gioi"


def test_has_diacritics() -> None:
    assert has_diacritics("bạo lực")
    assert not has_diacritics("bao luc")


@pytest.mark.parametrize("text", ["", "   ", "😢😢", "a", "?"])
def test_not_meaningful(text: str) -> None:
    assert not is_meaningful(text)


def test_mask_pii_hides_phones_and_emails() -> None:
    masked = mask_pii("gọi 0912 345 678 hoặc +84 912345678, mail lan.nguyen@example.com")
    assert "0912" not in masked and "912345678" not in masked
    assert "example.com" not in masked
    assert masked.count("[số điện thoại]") == 2 and "[email]" in masked


def test_mask_pii_leaves_short_codes() -> None:
    assert mask_pii("gọi 113 hoặc 111") == "gọi 113 hoặc 111"


@pytest.mark.parametrize(("typed", "expected"), [
    ("trong hẻm có người đang đánh vợ", "trong hem co nguoi dang danh vo"),  # an alley, not "không"
    ("tụi nó đánh bạn tôi", "tui no danh ban toi"),                          # "they", not "tôi"
    ("dạ vâng ạ", "da vang a"),                                              # a particle, not "anh"
    ("e hông biết, ck e đc về chưa", "em khong biet chong em duoc ve chua"),  # accented shorthand still expands
    ("hem biet tui di dau", "khong biet toi di dau"),                         # unaccented shorthand as before
])
def test_teencode_expands_only_where_it_was_typed_as_teencode(typed: str, expected: str) -> None:
    assert normalize(typed) == expected
