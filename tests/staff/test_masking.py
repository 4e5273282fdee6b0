"""Names, phone numbers and e-mail addresses are masked before staff see a message."""

from __future__ import annotations

import pytest

from bot.masking import mask_names, mask_personal


@pytest.mark.parametrize(("text", "expected"), [
    ("Tên tôi là Nguyễn Thị Lan, tôi muốn hỏi", "Tên tôi là [tên], tôi muốn hỏi"),
    ("ten em la nguyen thi lan nha em hoi chut", "ten em la [tên] nha em hoi chut"),
    ("ten em la lan, em hoi chut", "ten em la [tên], em hoi chut"),
    ("tôi tên Hoa ở Cần Thơ", "tôi tên [tên] ở Cần Thơ"),
    ("mình tên là Bích Ngọc", "mình tên là [tên]"),
    ("họ tên: Lê Văn Tám", "họ tên: [tên]"),
    ("Tôi là Hùng, 35 tuổi", "Tôi là [tên], 35 tuổi"),
    ("Chị Mai ơi cho em hỏi", "Chị [tên] ơi cho em hỏi"),
    ("anh Tuấn hàng xóm hay nhậu", "anh [tên] hàng xóm hay nhậu"),
    ("hỏi giúp cô Hồng Nhung với", "hỏi giúp cô [tên] với"),
    ("Trần Văn Nam nợ tiền không trả", "[tên] nợ tiền không trả"),
])
def test_names_are_masked(text: str, expected: str) -> None:
    assert mask_names(text) == expected


@pytest.mark.parametrize("text", [
    "tôi là nạn nhân của bạo lực gia đình thì làm gì",
    "chị ơi cho em hỏi",
    "Anh Chị ơi cho hỏi",
    "ở TP Hồ Chí Minh có trung tâm tư vấn không",
    "bạo lực gia đình là gì",
    "Em chào anh ạ",
    "anh ấy hay uống rượu",
    "Hội Liên hiệp Phụ nữ ở đâu",
])
def test_ordinary_words_are_kept(text: str) -> None:
    assert mask_names(text) == text


def test_phones_emails_and_names_together() -> None:
    masked = mask_personal("Em tên là Thu, sđt 0912 345 678, mail thu.nguyen@gmail.com, hỏi về tảo hôn")
    assert masked == "Em tên là [tên], sđt [số điện thoại], mail [email], hỏi về tảo hôn"
    assert "0912" not in masked and "gmail" not in masked and "Thu" not in masked


def test_international_phone_format_is_masked() -> None:
    assert "[số điện thoại]" in mask_personal("gọi cho tôi +84 912 345 678 nhé")
