"""Broadcast rules without any platform: validation (Vietnamese, nothing saved), approval, cancel, audience, render."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.cases.store import CaseRequest, CaseStore
from bot.content.library import Library
from bot.db.engine import session_factory
from bot.outreach import broadcasts as bc
from bot.outreach.models import APPROVED, CANCELLED, DRAFT, Broadcast
from bot.outreach.rendering import STOP_PAYLOAD, sensitive_words
from bot.privacy import request_deletion
from tests.outreach.helpers import MORNING, add_sub


def draft(**kw) -> bc.Draft:
    values = {"text": "Mời bạn tham gia các hoạt động của Tháng hành động năm nay.", "start_at": MORNING,
              "quiet_hours": "21:00-07:00"}
    values.update(kw)
    return bc.Draft(**values)


def count_broadcasts(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return int(s.execute(select(func.count()).select_from(Broadcast)).scalar_one())


def refused(engine: Engine, library: Library, d: bc.Draft, by: str = "an") -> list[str]:
    with pytest.raises(bc.BroadcastError) as info:
        bc.create(engine, d, by, library, MORNING)
    assert count_broadcasts(engine) == 0, "nothing is saved when a draft is refused"
    return info.value.messages


def test_bad_input_each_gets_its_vietnamese_message_and_nothing_is_saved(staffed: Engine, library: Library) -> None:
    add_sub(staffed, "telegram:1")
    cases = [
        (draft(text="   "), "Nội dung bản tin đang để trống"),
        (draft(province="Atlantis"), "Không nhận ra tỉnh/thành “Atlantis”"),
        (draft(start_at=MORNING - timedelta(minutes=5)), "Thời điểm bắt đầu gửi đã qua"),
        (draft(end_at=MORNING - timedelta(minutes=1)), "Thời điểm kết thúc phải sau"),
        (draft(province="Cà Mau"), "Chưa có người đăng ký nào phù hợp"),
        (draft(text="Xin chào. " * 300), "Bản tin quá dài cho messenger"),
        (draft(buttons=[f"Nút {i}" for i in range(8)]), "Quá nhiều nút trả lời nhanh"),
        (draft(buttons=["Một lựa chọn rất rất dài quá mức"]), "dài quá 20 ký tự"),
        (draft(poll_question="Bạn thấy sao?", buttons=["A", "B", "C", "D", "E"]), "từ 2 đến 4 phương án"),
        (draft(text="Bạo lực gia đình: thông tin cần biết"), "từ nhạy cảm: bạo lực"),
        (draft(text="Phong chong bao hanh trong gia dinh"), "từ nhạy cảm: bạo hành"),
        (draft(quiet_hours="9pm-7am"), "Giờ yên lặng “9pm-7am” không đúng dạng"),
    ]
    for d, expected in cases:
        messages = refused(staffed, library, d)
        assert any(expected in m for m in messages), (expected, messages)
    # Several problems at once: one message each.
    assert len(refused(staffed, library, draft(text="", province="Atlantis", quiet_hours="x"))) == 3


def test_telegram_only_allows_a_longer_text_but_never_over_4096(staffed: Engine, library: Library) -> None:
    add_sub(staffed, "telegram:1")
    assert bc.create(staffed, draft(text="Xin chào. " * 300, channel="telegram"), "an", library, MORNING)
    with pytest.raises(bc.BroadcastError) as info:
        bc.create(staffed, draft(text="Xin chào. " * 420, channel="telegram"), "an", library, MORNING)
    assert any("Bản tin quá dài cho telegram" in m for m in info.value.messages)


def test_sensitive_words_are_found_with_and_without_diacritics_but_not_in_harmless_words() -> None:
    assert sensitive_words("xâm hại trẻ em") == ["xâm hại"]
    assert sensitive_words("nguoc dai nguoi gia") == ["ngược đãi"]
    assert sensitive_words("bị hiếp") == ["hiếp"]
    assert sensitive_words("Hội LHPN – Hiệp hội doanh nghiệp, bảo lãnh") == []


def test_sensitive_words_below_the_preview_are_allowed(staffed: Engine, library: Library) -> None:
    add_sub(staffed, "telegram:1")
    text = "Mời bạn cùng tham gia chuỗi hoạt động của Tháng hành động năm nay tại địa phương mình nhé.\n\n" \
           "Nếu bạn hoặc người thân gặp bạo lực, hãy gọi 111."
    assert bc.create(staffed, draft(text=text), "an", library, MORNING) > 0


def test_former_province_names_are_stored_as_the_current_province(staffed: Engine, library: Library) -> None:
    add_sub(staffed, "zalo:1", province="Quảng Ngãi")
    broadcast_id = bc.create(staffed, draft(province="kon tum"), "an", library, MORNING)
    assert bc.get_broadcast(staffed, broadcast_id).province == "Quảng Ngãi"


def test_approval_needs_another_active_staff_account(staffed: Engine, library: Library) -> None:
    add_sub(staffed, "telegram:1")
    broadcast_id = bc.create(staffed, draft(), "an", library, MORNING)
    with pytest.raises(bc.BroadcastError, match="Người tạo bản tin không thể tự duyệt"):
        bc.approve(staffed, broadcast_id, "an", MORNING)
    with pytest.raises(bc.BroadcastError, match="không có quyền duyệt bản tin"):
        bc.approve(staffed, broadcast_id, "dung", MORNING)  # a counselor
    with pytest.raises(bc.BroadcastError, match="không tồn tại"):
        bc.approve(staffed, broadcast_id, "ai-do", MORNING)
    assert bc.get_broadcast(staffed, broadcast_id).state == DRAFT
    bc.approve(staffed, broadcast_id, "chi", MORNING)  # a supervisor may approve
    view = bc.get_broadcast(staffed, broadcast_id)
    assert (view.state, view.approved_by) == (APPROVED, "chi")
    with pytest.raises(bc.BroadcastError, match="không còn chờ duyệt"):
        bc.approve(staffed, broadcast_id, "binh", MORNING)


def test_only_staff_accounts_create_and_a_done_broadcast_cannot_be_cancelled(staffed: Engine,
                                                                             library: Library) -> None:
    add_sub(staffed, "telegram:1")
    with pytest.raises(bc.BroadcastError, match="không có quyền tạo bản tin"):
        bc.create(staffed, draft(), "dung", library, MORNING)
    broadcast_id = bc.create(staffed, draft(), "an", library, MORNING)
    bc.cancel(staffed, broadcast_id, "binh", MORNING)
    assert bc.status(staffed, broadcast_id).state == CANCELLED
    with pytest.raises(bc.BroadcastError, match="đã bị hủy"):
        bc.cancel(staffed, broadcast_id, "binh", MORNING)
    with pytest.raises(bc.BroadcastError, match="không còn chờ duyệt"):
        bc.approve(staffed, broadcast_id, "binh", MORNING)


def test_audience_filters_topic_province_channel_and_spares_cases_and_deletions(staffed: Engine) -> None:
    add_sub(staffed, "telegram:1", province="Gia Lai", topics="news,events")
    add_sub(staffed, "zalo:2", province="Gia Lai", topics="events")
    add_sub(staffed, "messenger:3", province="Huế", topics="news")
    add_sub(staffed, "telegram:4", province="Gia Lai", active=False)
    add_sub(staffed, "zalo:5", province="Gia Lai")                       # open case
    add_sub(staffed, "zalo:6", province="Gia Lai", override="dung")      # open case, a counselor allowed it
    add_sub(staffed, "telegram:7", province="Gia Lai")                   # asked for deletion
    store = CaseStore(staffed)
    for sender in ("zalo:5", "zalo:6"):
        store.open_case(CaseRequest(channel="zalo", sender_id=sender, urgency="needs_support", message="cần giúp",
                                    reasons=("test",), province="Gia Lai"))
    request_deletion(staffed, "telegram:7", MORNING)
    count = bc.audience_count
    assert count(staffed, topic="news", province=None, channel=None, now=MORNING) == 3   # 1, 3, 6
    assert count(staffed, topic="news", province="Gia Lai", channel=None, now=MORNING) == 2
    assert count(staffed, topic="events", province="Gia Lai", channel=None, now=MORNING) == 2  # 1, 2
    assert count(staffed, topic="events", province="Gia Lai", channel="zalo", now=MORNING) == 1
    assert count(staffed, topic="news", province="Huế", channel="telegram", now=MORNING) == 0


@pytest.mark.parametrize("channel", ["zalo", "messenger", "telegram"])
def test_render_has_a_neutral_first_line_the_body_and_how_to_stop(library: Library, channel: str) -> None:
    d = draft(province="Kon Tum", poll_question="Bạn đã biết số 111 chưa?", buttons=["Đã biết", "Chưa"])
    out = bc.render(d, channel, library)
    first = out.text.split("\n", 1)[0]
    assert first == "Hội LHPN tỉnh Quảng Ngãi – Tháng hành động vì bình đẳng giới"
    assert sensitive_words(first) == []
    assert "Mời bạn tham gia" in out.text and "Bạn đã biết số 111 chưa?" in out.text
    assert "hủy đăng ký" in out.text.rsplit("\n", 1)[-1]
    if channel == "zalo":
        assert out.buttons == [] and "1. Đã biết\n2. Chưa" in out.text
    else:
        assert out.buttons == ["Đã biết", "Chưa", "Dừng nhận tin"]
        assert out.payloads == ["/poll_option_1", "/poll_option_2", STOP_PAYLOAD]


def test_render_names_cities_and_the_organisation(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    assert bc.render(draft(province="Hà Nội"), "telegram", library).text.startswith(
        "Hội LHPN thành phố Hà Nội – Tháng hành động vì bình đẳng giới\n")
    assert bc.render(draft(province="tphcm"), "telegram", library).text.startswith(
        "Hội LHPN Thành phố Hồ Chí Minh – ")
    monkeypatch.setenv("BROADCAST_ORGANISATION", "Hội LHPN tỉnh Gia Lai")
    assert bc.render(draft(), "zalo", library).text.startswith(
        "Hội LHPN tỉnh Gia Lai – Tháng hành động vì bình đẳng giới\n")


def test_quiet_hours_default_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "off")
    assert bc.Draft(text="x", start_at=MORNING).quiet_hours == "off"
    monkeypatch.delenv("BROADCAST_QUIET_HOURS")
    assert bc.Draft(text="x", start_at=MORNING).quiet_hours == "21:00-07:00"
