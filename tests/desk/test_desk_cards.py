"""Texts of the desk: the card in Vietnamese, masked, escaped; buttons within Telegram's limits."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from bot.cases.models import Case
from bot.desk import cards

T0 = datetime(2026, 11, 22, 7, 5, tzinfo=timezone.utc)


def make(**kw: object) -> Case:
    """A case row that is not stored."""
    values = {"id": 4821, "channel": "messenger", "sender_id": "messenger:1", "urgency": "needs_support",
              "status": "open", "created_at": T0, "updated_at": T0, "province": None, "claimed_by": None,
              "claimed_at": None, "resolved_at": None, "reasons": "người dùng yêu cầu gặp tư vấn viên",
              "message": "Gọi cho tôi qua +84 912.345.678 hoặc mai.tran@gmail.com <b>nhé</b>"}
    values.update(kw)
    return Case(**values)


def test_card_masks_contacts_escapes_markup_and_speaks_vietnamese() -> None:
    text = cards.render_card(make(), "https://desk.example.vn/cases/4821")
    assert "912" not in text and "mai.tran" not in text
    assert "[số điện thoại]" in text and "[email]" in text
    assert "&lt;b&gt;nhé&lt;/b&gt;" in text and "<b>nhé</b>" not in text
    assert "🟠 CẦN HỖ TRỢ" in text and "Kênh: Messenger" in text and "14:05 22/11/2026" in text  # Vietnam time
    assert "Lý do gắn cờ: người dùng yêu cầu gặp tư vấn viên" in text
    assert "Xem ca: https://desk.example.vn/cases/4821" in text
    assert "Tỉnh/thành" not in text  # unknown province is left out
    assert "Trạng thái: ⏳ Chưa có người nhận" in text


def test_card_follows_the_case_through_its_states() -> None:
    claimed = make(status="claimed", claimed_by="Nguyễn Lan (@lan) <tg:11>", claimed_at=T0 + timedelta(minutes=3))
    text = cards.render_card(claimed, "u", cards.CardExtras(stale=True))
    assert "✋ Đã nhận: Nguyễn Lan (@lan) lúc 14:08" in text and "<tg:11>" not in text and "quá 1 ngày" in text
    resolved = make(status="resolved", claimed_by="Lan <tg:11>", resolved_at=T0 + timedelta(hours=1))
    assert "✅ Đã xử lý bởi Minh lúc 15:05" in cards.render_card(resolved, "u", cards.CardExtras(
        resolved_by="Minh <desk:minh>"))
    assert [label for label, _ in cards.card_buttons(make())] == ["Nhận ca", "Đã xử lý"]
    assert [label for label, _ in cards.card_buttons(claimed)] == ["Đã xử lý"]
    assert cards.card_buttons(resolved) == []


def test_callback_data_fits_telegram_limit_for_any_case_id() -> None:
    for case_id in (1, 10**12 - 1):
        for _, data in cards.card_buttons(make(id=case_id)):
            assert 1 <= len(data.encode("utf-8")) <= 64


def test_long_messages_are_shortened_and_mentions_built() -> None:
    assert len(cards.excerpt("a" * 5000)) == cards.EXCERPT
    assert cards.mention("giamsat") == "@giamsat" and cards.mention("@giamsat") == "@giamsat"
    assert 'tg://user?id=12345' in cards.mention("12345")
    text = cards.reescalation_text(make(), 2, timedelta(minutes=61), "@giamsat", "u")
    assert "NHẮC LẠI lần 2" in text and "61 phút" in text and "@giamsat" in text
    assert "113" in cards.resident_resolved_text("• 113 – Công an")


HOME = ("Tên tôi là Nguyễn Thị Hoa, nhà tôi ở số 12 ngõ 34 phố Hàng Bông, gần chợ. Chồng tôi là Trần Văn Nam "
        "đang đánh tôi, gọi 0912345678. Em ở hẻm 5 đường Lê Lợi, thôn Đông Xá.")


def test_card_excerpt_is_short_and_masks_names_and_home_addresses() -> None:
    message = HOME + " Cứu tôi với." * 200
    for text in (cards.render_card(make(message=message), "u"), cards.forward_text(7, message, None)):
        for secret in ("Hoa", "Trần Văn Nam", "0912345678", "số 12", "ngõ 34", "Hàng Bông", "hẻm 5", "Lê Lợi",
                       "Đông Xá"):
            assert secret not in text
        assert "[tên]" in text and "[địa chỉ]" in text and "[số điện thoại]" in text
        assert "gần chợ" in text and "đang đánh tôi" in text  # what happens stays readable
    assert cards.EXCERPT <= 300 and len(cards.excerpt(message)) <= cards.EXCERPT


def test_a_cut_never_leaves_half_a_phone_number_or_address() -> None:
    for pad in range(0, 40):
        text = "a " * (cards.EXCERPT // 2 - 20) + "x" * pad + " gọi 0912 345 678 hoặc mai.tran@gmail.com, số 45 ngõ 6"
        shown = cards.excerpt(text + " thêm nữa" * 2000)
        assert not any(part in shown for part in ("0912", "345 678", "mai.tran", "gmail", "45"))


def test_masking_a_huge_message_stays_fast() -> None:
    start = time.perf_counter()
    cards.excerpt("Chị Lan ở số 5 ngõ 7, " * 20000 + "a" * 200_000)
    assert time.perf_counter() - start < 1.0
