"""Custom actions: the exact replies and events, and the side effects on the case store."""

import asyncio

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import select

import actions.actions
from actions.actions import (
    ActionCampaignDates,
    ActionCampaignTheme,
    ActionDeleteData,
    ActionFallback,
    ActionFindHotline,
    ActionHandleUrgent,
    ActionRequestCounselor,
    ActionUpcomingEvents,
)
from bot.cases import spool
from bot.db.engine import session_factory
from bot.privacy import DeletionRequest
from bot.replies import CASE_MARKER, carries_case
from bot.runtime import Runtime, fixed_runtime, set_process_runtime
from tests.actions.conftest import make_tracker


async def test_urgent_message_records_case_before_replying(dispatcher, domain, services: Runtime) -> None:
    tracker = make_tracker("ck e dang danh e o Soc Trang, cuu e", intent="report_violence", confidence=1.0)
    events = await ActionHandleUrgent().run(dispatcher, tracker, domain)
    assert events == [SlotSet("province", "Sóc Trăng")]
    [case] = services.store.list_cases()
    assert case.sender_id == "telegram:77" and case.channel == "telegram"
    assert case.urgency == "danger_now" and case.province == "Cần Thơ" and case.message_id == "mid-1"
    assert "kêu cứu" in case.reasons
    [message] = dispatcher.messages
    for number in ("113", "115", "111", "0377672444"):
        assert number in message["text"]
    assert f"#{case.id}" in message["text"]


async def test_classifier_only_urgent_opens_needs_support(dispatcher, domain, services: Runtime) -> None:
    tracker = make_tracker("dạo này em sợ về nhà lắm", intent="report_violence", confidence=0.8)
    await ActionHandleUrgent().run(dispatcher, tracker, domain)
    [case] = services.store.list_cases()
    assert case.urgency == "needs_support" and "bộ phân loại" in case.reasons


@pytest.fixture
def urgent_without_database(dispatcher, domain, library, tmp_path, monkeypatch):
    """Run action_handle_urgent on "cứu tôi với" with no database; yields the spool file."""
    path = tmp_path / "spool.jsonl"
    monkeypatch.setattr(spool, "spool_path", lambda: path)
    set_process_runtime(fixed_runtime(library, None))
    try:
        asyncio.run(ActionHandleUrgent().run(dispatcher, make_tracker("cứu tôi với"), domain))
    finally:
        set_process_runtime(None)
    return path


def test_urgent_reply_survives_a_dead_database(dispatcher, urgent_without_database) -> None:
    assert "113" in dispatcher.messages[0]["text"]
    assert "cứu tôi với" in urgent_without_database.read_text(encoding="utf-8")


async def test_request_counselor_opens_needs_support_case(dispatcher, domain, services: Runtime) -> None:
    tracker = make_tracker("cho tôi gặp tư vấn viên", intent="request_counselor")
    await ActionRequestCounselor().run(dispatcher, tracker, domain)
    [case] = services.store.list_cases()
    assert case.urgency == "needs_support"
    assert "tư vấn viên" in dispatcher.messages[0]["text"] and "113" in dispatcher.messages[0]["text"]


async def test_hotline_uses_remembered_province(dispatcher, domain, services: Runtime) -> None:
    tracker = make_tracker("cho xin số đường dây nóng", intent="ask_hotline", slots={"province": "Sóc Trăng"})
    assert await ActionFindHotline().run(dispatcher, tracker, domain) == []
    assert "0377672444" in dispatcher.messages[0]["text"] and "Sóc Trăng" in dispatcher.messages[0]["text"]


async def test_campaign_dates_this_year(dispatcher, domain, services: Runtime) -> None:
    await ActionCampaignDates().run(dispatcher, make_tracker("năm nay tháng hành động khi nào", "ask_campaign_dates"),
                                    domain)
    assert "15/11/2026" in dispatcher.messages[0]["text"]


async def test_campaign_theme_unknown_year(dispatcher, domain, services: Runtime) -> None:
    await ActionCampaignTheme().run(dispatcher, make_tracker("chủ đề năm nay", "ask_campaign_theme"), domain)
    text = dispatcher.messages[0]["text"]
    known = [year for year, facts in services.library.campaign.years.items() if facts.theme and year < 2026]
    assert "năm 2026" in text and f"năm {max(known)}" in text


async def test_events_in_kon_tum(dispatcher, domain, services: Runtime) -> None:
    events = await ActionUpcomingEvents().run(dispatcher, make_tracker("Sắp tới ở Kon Tum có sự kiện gì?",
                                                                         "ask_events"), domain)
    assert events == [SlotSet("province", "Kon Tum")]
    assert "Ngọc Hồi" in dispatcher.messages[0]["text"]


async def test_a_local_event_not_on_file_is_said_so_and_kept_for_staff(dispatcher, domain, services: Runtime) -> None:
    from bot.review_queue import ReviewItem

    text = "đi bộ đồng hành ở Trà Vinh năm nay xuất phát ở đâu"
    await ActionUpcomingEvents().run(dispatcher, make_tracker(text, "ask_events"), domain)
    assert "chưa có thông tin về sự kiện sắp tới ở Trà Vinh" in dispatcher.messages[0]["text"]
    assert "Hội Liên hiệp Phụ nữ xã/phường" in dispatcher.messages[0]["text"]
    with session_factory(services.store.engine)() as s:
        [item] = s.execute(select(ReviewItem)).scalars().all()
    assert (item.text, item.reason, item.intent) == (text, "not_on_file", "ask_events")


async def test_an_upcoming_event_on_file_is_not_sent_to_review(dispatcher, domain, services: Runtime,
                                                              monkeypatch) -> None:
    from bot.review_queue import ReviewItem

    [launch] = services.library.events.items  # the 2022 launch, moved into the future for this test
    monkeypatch.setattr(type(services.library.events), "upcoming", lambda self, *a, **k: [launch])
    await ActionUpcomingEvents().run(dispatcher, make_tracker("Sắp tới ở Kon Tum có sự kiện gì?", "ask_events"), domain)
    with session_factory(services.store.engine)() as s:
        assert s.execute(select(ReviewItem)).scalars().all() == []


async def test_delete_data_records_request(dispatcher, domain, services: Runtime) -> None:
    assert await ActionDeleteData().run(dispatcher, make_tracker("có", "affirm"), domain) == []
    with session_factory(services.store.engine)() as s:
        [req] = list(s.execute(select(DeletionRequest)).scalars())
    assert req.sender_id == "telegram:77" and req.done_at is None


async def test_fallback_second_miss_offers_hotline(dispatcher, domain, services: Runtime) -> None:
    first = make_tracker("abc xyz", "nlu_fallback", events=[
        {"event": "user", "text": "abc xyz", "parse_data": {"intent": {"name": "nlu_fallback"}}}])
    await ActionFallback().run(dispatcher, first, domain)
    assert "113" not in dispatcher.messages[0]["text"]
    second = make_tracker("qwe", "nlu_fallback", events=[
        {"event": "user", "text": "abc", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "user", "text": "qwe", "parse_data": {"intent": {"name": "nlu_fallback"}}}])
    await ActionFallback().run(dispatcher, second, domain)
    assert "113" in dispatcher.messages[1]["text"]


async def test_unhelpful_answer_sends_the_previous_question_to_review(dispatcher, domain, services: Runtime) -> None:
    from actions.actions import ActionMarkUnhelpful
    from bot.staff import review

    tracker = make_tracker("trả lời sai rồi", "mark_unhelpful", events=[
        {"event": "user", "text": "thủ tục nhận con nuôi thế nào, gọi tôi 0912345678",
         "parse_data": {"intent": {"name": "faq", "confidence": 0.62}}},
        {"event": "user", "text": "trả lời sai rồi", "parse_data": {"intent": {"name": "mark_unhelpful"}}}])
    assert await ActionMarkUnhelpful().run(dispatcher, tracker, domain) == []
    [item] = review.list_pending(services.store.engine)
    assert item["reason"] == "unhelpful" and "nhận con nuôi" in item["text"] and "0912345678" not in item["text"]


async def test_urgent_reply_carries_the_case_marker_not_in_its_text(dispatcher, domain, services: Runtime) -> None:
    await ActionHandleUrgent().run(dispatcher, make_tracker("chồng tôi đang đánh tôi"), domain)
    [case] = services.store.list_cases()
    [message] = dispatcher.messages
    assert message[CASE_MARKER] == {"id": case.id} and carries_case(message)
    assert "case_marker" not in message["text"]


def test_a_spooled_case_is_marked_too(dispatcher, urgent_without_database) -> None:
    assert dispatcher.messages[0][CASE_MARKER] == {"id": None}


async def test_a_lost_case_is_not_marked(dispatcher, domain, library, monkeypatch) -> None:
    monkeypatch.setattr(Runtime, "escalate", lambda self, *args: (None, False))  # neither database nor spool
    set_process_runtime(fixed_runtime(library, None))
    try:
        await ActionHandleUrgent().run(dispatcher, make_tracker("cứu tôi với"), domain)
    finally:
        set_process_runtime(None)
    assert not carries_case(dispatcher.messages[0])  # the channel's safety net must try again


async def test_counselor_request_reply_is_marked(dispatcher, domain, services: Runtime) -> None:
    await ActionRequestCounselor().run(dispatcher, make_tracker("cho tôi gặp tư vấn viên", "request_counselor"),
                                       domain)
    [case] = services.store.list_cases()
    assert dispatcher.messages[0][CASE_MARKER] == {"id": case.id}


async def test_the_pipeline_verdict_is_read_not_assessed_again(dispatcher, domain, services: Runtime,
                                                               monkeypatch) -> None:
    def no_second_pass(text):
        raise AssertionError("the rules ran again in the action")

    monkeypatch.setattr(actions.actions, "assess", no_second_pass)
    verdict = {"triage": {"urgency": "danger_now", "reasons": ["có vũ khí"], "classifier": {"name": "faq"}}}
    await ActionHandleUrgent().run(dispatcher, make_tracker("anh ta cầm dao", parse_data=verdict), domain)
    [case] = services.store.list_cases()
    assert case.urgency == "danger_now" and case.reasons == "có vũ khí"


async def test_without_a_pipeline_verdict_the_action_assesses_the_text(dispatcher, domain, services: Runtime) -> None:
    await ActionHandleUrgent().run(dispatcher, make_tracker("chồng tôi đang đánh tôi, cứu tôi với"), domain)
    [case] = services.store.list_cases()
    assert case.urgency == "danger_now" and "kêu cứu" in case.reasons
