"""Context and coverage fixes found by error analysis after the first candidate (issue 9): examples written here."""

from __future__ import annotations

import pytest

from bot.text import fold
from bot.triage import DANGER_NOW, NEEDS_SUPPORT, NONE, assess
from bot.triage.policy import UNSURE, URGENT, decide

CASES = [
    ("anh ấy say rồi đập tivi, dọa giết cả nhà tôi", DANGER_NOW),           # a smashed TV is not a film
    ("hàng xóm đang bị đánh, tiếng kêu cứu to lắm, tôi gọi ai", DANGER_NOW),  # the comma folded away
    ("nhà chồng không cho tôi cầm tiền, vậy có sao không", NEEDS_SUPPORT),
    ("bố mẹ ép em 15 tuổi lấy chồng, bố mẹ có bị phạt không", NEEDS_SUPPORT),
    ("ông xã kiểm tra camera xem tôi làm gì cả ngày", NEEDS_SUPPORT),
    ("nó bảo gửi thêm ảnh không thì tung lên mạng", NEEDS_SUPPORT),
    ("đứa nhỏ 3 tuổi nhà bên bị bỏ mặc, mấy lần bé bò ra đường", NEEDS_SUPPORT),
    ("em 15 tuổi, trên game có người đòi ảnh, không thì tung lên", NEEDS_SUPPORT),  # "trên game" is where, not a story
    ("tôi mới thoát về được, hồi 2018 bị lừa bán sang biên giới", DANGER_NOW),  # just escaped: not over
    ("hồi lớp 7 em bị bạn bắt nạt, giờ em ổn rồi", NONE),
    ("năm 1995 bố tôi từng đánh mẹ, giờ hai ông bà sống rất hạnh phúc", NONE),
    ("hồi mới cưới anh ấy có lần tát tôi, nhưng hai mươi năm nay chưa từng làm lại", NONE),
    ("mẹ tôi kể hồi nhỏ bị ông ngoại đánh, giờ ông mất rồi, mẹ vẫn hay nhắc", NONE),
    ("giả sử sau này em bị sếp quấy rối thì em nên báo ai", NONE),
    ("danh tiếng của công ty bị ảnh hưởng vì tin đồn", NONE),
    ("thằng say đang lôi vợ nó ra sân đánh, cả xóm đứng nhìn", DANGER_NOW),  # an action verb, no "đang bị"
    ("trưởng phòng hay xoa vai em trong phòng họp", NEEDS_SUPPORT),
    ("ông nội tôi thời chiến bị đánh đập trong tù, ông hay kể lại", NONE),
    ("lỡ mai mốt chồng em đánh em thì em gọi số nào", NONE),
    # Found by the data writer of wave 4 (2026-12-03): "đánh mấy" folds like "đánh máy" (typing).
    ("cô giữ trẻ đang đánh mấy bé ở nhóm trẻ gần nhà", DANGER_NOW),
    ("ổng say về đánh mấy cái vô mặt tui", NEEDS_SUPPORT),
    ("tôi đang học đánh máy văn bản", NONE),
    ("em đánh máy rồi, gửi chị file nhé", NONE),
    ("trang tin địa phương vừa đăng vụ chồng đánh vợ nhập viện", NONE),
    ("bà ngoại kể hồi con gái bị ông cố đánh hoài", NONE),
    # Someone being hit now by a named person, and the writer asks whom to call: a case, not a question back.
    ("hàng xóm đang bị chồng đánh ngoài đường, tôi nên gọi số nào", DANGER_NOW),
    ("đang bị ck đập ngoài đường, gọi số nào giờ", DANGER_NOW),
    ("khi đang bị chồng đánh thì nên gọi số nào", NONE),
    ("con hàng xóm đang bị quất thắt lưng", DANGER_NOW),  # folded, "quat" is also a fan: the belt decides
    ("hắn đang đứng đợi trước cửa nhà em, em sợ lắm", NEEDS_SUPPORT),
    ("người yêu cũ ngày nào cũng đứng trước cổng công ty em", NEEDS_SUPPORT),
    ("anh ấy đứng chờ trước cổng trường để đón em", NONE),
]


@pytest.mark.parametrize(("text", "level"), CASES)
def test_context_and_coverage(text: str, level: str) -> None:
    for variant in (text, fold(text)):
        assert assess(variant).urgency == level, variant


def test_a_question_that_names_no_harm_and_no_one_gets_a_check_not_a_case() -> None:
    decision = decide("Tối khuya có ai trả lời tin nhắn không?", "report_violence", 0.8,
                      [{"name": "report_violence", "confidence": 0.8}])
    assert decision.band == UNSURE


def test_a_question_that_names_harm_still_opens_a_case_on_the_classifier() -> None:
    decision = decide("ở đây có ai giúp được khi bị đánh đập không?", "report_violence", 0.8,
                      [{"name": "report_violence", "confidence": 0.8}])
    assert decision.band == URGENT


def test_since_the_wedding_is_ongoing_not_long_ago() -> None:
    assert assess("chồng tôi đánh tôi từ hồi mới cưới, giờ tôi không biết đi đâu").urgent
