"""The unsure band in the actions: the safety check, its answers, English, and answers with support."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

import actions.context
from actions.actions import ActionFindHotline, ActionHandleUrgent
from actions.context import CHECK_FRESH_SECONDS, SAFETY_SLOT
from actions.outreach import OFFER
from actions.triage import (
    ActionAffirm,
    ActionDeny,
    ActionOfferSupport,
    ActionOtherLanguage,
    ActionSafetyCheck,
    ActionSafetyNo,
    ActionSafetyYes,
)
from bot.replies import (
    ANYTHING_ELSE,
    SAFETY_BUTTONS,
    SAFETY_BUTTONS_EN,
    SAFETY_CONFIRMED_REASON,
    SAFETY_NO_REPLY,
    SUPPORT_LINE,
    carries_case,
)
from bot.replies_en import info_reply_en
from bot.runtime import Runtime
from tests.actions.conftest import make_tracker

WORRY = "em sợ chồng em lắm"
ASKED_AT = 1_800_000_000.0
BUTTONS = [{"title": "Có, đang nguy hiểm", "payload": "/safety_yes"},
           {"title": "Gặp tư vấn viên", "payload": "/request_counselor"},
           {"title": "Không, chỉ hỏi thôi", "payload": "/safety_no"}]


def triage(band: str, urgency: str = "none", reasons: tuple[str, ...] = (), asks: bool = False,
           personal: bool = False, language: str = "vi") -> dict[str, Any]:
    """Parse data as TriageOverride writes it."""
    return {"triage": {"urgency": urgency, "reasons": list(reasons), "classifier": {"name": "faq"}, "band": band,
                       "asks": asks, "personal": personal, "language": language}}


def faq(utter: str = "utter_faq/violence_economic", confidence: float = 0.9) -> dict[str, Any]:
    """The ResponseSelector's part of the parse data."""
    return {"response_selector": {"faq": {"response": {"utter_action": utter, "confidence": confidence}}}}


def after_check(text: str, intent: str, *between: dict[str, Any], asked_at: float = ASKED_AT,
                language: str = "vi") -> Any:
    """A tracker whose bot asked the safety check about WORRY, then (maybe a restart) the resident answered `text`."""
    events = [{"event": "user", "text": WORRY, "parse_data": triage("unsure", language=language)},
              {"event": "action", "name": "action_safety_check"},
              {"event": "bot", "text": "…"},
              {"event": "slot", "name": SAFETY_SLOT, "value": asked_at},
              {"event": "action", "name": "action_listen"},
              *between,
              {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}]
    return make_tracker(text, intent, slots={SAFETY_SLOT: asked_at}, events=events, message_id="mid-2")


def at(monkeypatch, seconds: float) -> None:
    monkeypatch.setattr(actions.context, "now", lambda: seconds)


async def test_the_safety_check_asks_with_numbers_and_three_quick_replies(dispatcher, domain, services, monkeypatch):
    at(monkeypatch, ASKED_AT)
    tracker = make_tracker(WORRY, "describe_worry", parse_data=triage("unsure"))
    events = await ActionSafetyCheck().run(dispatcher, tracker, domain)
    assert events == [SlotSet(SAFETY_SLOT, ASKED_AT)]
    [message] = dispatcher.messages
    assert message["buttons"] == BUTTONS
    assert "nguy hiểm ngay lúc này" in message["text"]
    for number in ("113", "115", "111"):
        assert number in message["text"]
    assert services.store.list_cases() == []


async def test_a_check_on_a_question_answers_it_first_when_the_faq_is_confident(dispatcher, domain, services):
    parse = {**triage("unsure", asks=True), **faq()}
    await ActionSafetyCheck().run(dispatcher, make_tracker("chồng giữ hết tiền có bình thường không",
                                                           "describe_worry", parse_data=parse), domain)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_faq/violence_economic", None]
    assert dispatcher.messages[1]["buttons"] == BUTTONS


async def test_an_unsure_faq_guess_is_not_uttered_beside_the_check(dispatcher, domain, services):
    parse = {**triage("unsure", asks=True), **faq(confidence=0.2)}
    await ActionSafetyCheck().run(dispatcher, make_tracker("vậy có sao không", "describe_worry", parse_data=parse),
                                  domain)
    assert len(dispatcher.messages) == 1 and dispatcher.messages[0]["buttons"] == BUTTONS


async def test_an_english_check_is_in_english_with_the_same_payloads(dispatcher, domain, services):
    tracker = make_tracker("I'm scared of my husband", "describe_worry", parse_data=triage("unsure", language="en"))
    await ActionSafetyCheck().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert [b["payload"] for b in message["buttons"]] == [b["payload"] for b in BUTTONS]
    assert message["buttons"][0]["title"] != BUTTONS[0]["title"] and "113" in message["text"]


async def test_yes_opens_a_danger_now_case_at_once(dispatcher, domain, services: Runtime):
    events = await ActionSafetyYes().run(dispatcher, after_check("/safety_yes", "safety_yes"), domain)
    [case] = services.store.list_cases()
    assert case.urgency == "danger_now" and SAFETY_CONFIRMED_REASON in case.reasons
    assert case.sender_id == "telegram:77" and case.message_id == "mid-2"
    assert WORRY in case.message and "Có, đang nguy hiểm" in case.message
    assert SlotSet(SAFETY_SLOT, None) in events
    [message] = dispatcher.messages
    assert carries_case(message) and "113" in message["text"] and f"#{case.id}" in message["text"]


async def test_a_forged_yes_acts_only_on_the_writers_own_conversation(dispatcher, domain, services: Runtime):
    tracker = make_tracker("/safety_yes", "safety_yes", sender="telegram:5", message_id="mid-9",
                           parse_data={"entities": [{"entity": "sender", "value": "zalo:1"}]})
    await ActionSafetyYes().run(dispatcher, tracker, domain)
    [case] = services.store.list_cases()
    assert case.sender_id == "telegram:5" and case.message == "Có, đang nguy hiểm"


async def test_a_typed_yes_right_after_the_check_opens_the_case(dispatcher, domain, services, monkeypatch):
    at(monkeypatch, ASKED_AT + 60)
    await ActionAffirm().run(dispatcher, after_check("có", "affirm"), domain)
    [case] = services.store.list_cases()
    assert case.urgency == "danger_now" and WORRY in case.message


async def test_a_yes_after_a_restart_still_answers_the_check(dispatcher, domain, services, monkeypatch):
    at(monkeypatch, ASKED_AT + 2 * 3600)
    restart = [{"event": "action", "name": "action_session_start"}, {"event": "session_started"},
               {"event": "slot", "name": SAFETY_SLOT, "value": ASKED_AT}, {"event": "action", "name": "action_listen"}]
    await ActionAffirm().run(dispatcher, after_check("co", "affirm", *restart), domain)
    [case] = services.store.list_cases()
    assert case.urgency == "danger_now"


async def test_a_yes_days_later_asks_again_and_opens_nothing(dispatcher, domain, services, monkeypatch):
    at(monkeypatch, ASKED_AT + CHECK_FRESH_SECONDS + 1)
    events = await ActionAffirm().run(dispatcher, after_check("có", "affirm"), domain)
    assert services.store.list_cases() == []
    assert dispatcher.messages[0]["buttons"] == BUTTONS
    assert SlotSet(SAFETY_SLOT, ASKED_AT + CHECK_FRESH_SECONDS + 1) in events


async def test_a_yes_to_something_else_is_not_an_answer_to_the_check(dispatcher, domain, services):
    answered = [{"event": "user", "text": "cảm ơn", "parse_data": {"intent": {"name": "thank"}}},
                {"event": "action", "name": "utter_you_are_welcome"}, {"event": "action", "name": "action_listen"}]
    await ActionAffirm().run(dispatcher, after_check("có", "affirm", *answered), domain)
    assert services.store.list_cases() == []
    assert [m["text"] for m in dispatcher.messages] == [ANYTHING_ELSE]


async def test_a_yes_without_any_check_opens_nothing(dispatcher, domain, services):
    await ActionAffirm().run(dispatcher, make_tracker("có", "affirm"), domain)
    assert services.store.list_cases() == [] and dispatcher.messages[0]["text"] == ANYTHING_ELSE


async def test_no_reassures_and_opens_nothing(dispatcher, domain, services):
    for action, text, intent in ((ActionSafetyNo(), "/safety_no", "safety_no"), (ActionDeny(), "không", "deny")):
        events = await action.run(dispatcher, after_check(text, intent), domain)
        assert events == [SlotSet(SAFETY_SLOT, None)]
    assert [m["text"] for m in dispatcher.messages] == [SAFETY_NO_REPLY, SAFETY_NO_REPLY]
    assert services.store.list_cases() == []


async def test_a_no_out_of_context_is_what_it_was(dispatcher, domain, services):
    await ActionDeny().run(dispatcher, make_tracker("không", "deny"), domain)
    assert dispatcher.messages[0]["text"] == ANYTHING_ELSE


async def test_an_english_no_gets_the_english_information(dispatcher, domain, services):
    await ActionSafetyNo().run(dispatcher, after_check("/safety_no", "safety_no", language="en"), domain)
    assert dispatcher.messages[0]["text"] == info_reply_en(services.library, None)


async def test_other_language_calm_gets_the_information_in_english(dispatcher, domain, services):
    tracker = make_tracker("What is this chat for?", "other_language", parse_data=triage("calm", language="en"))
    await ActionOtherLanguage().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"] == info_reply_en(services.library, None)
    assert "113" in dispatcher.messages[0]["text"] and services.store.list_cases() == []


async def test_other_language_asking_for_a_counselor_opens_a_case(dispatcher, domain, services):
    tracker = make_tracker("I want to talk to a counselor", "other_language", parse_data=triage("calm", language="en"))
    await ActionOtherLanguage().run(dispatcher, tracker, domain)
    [case] = services.store.list_cases()
    assert case.urgency == "needs_support" and carries_case(dispatcher.messages[0])


async def test_an_english_urgent_message_opens_a_case_with_an_english_reply(dispatcher, domain, services):
    parse = triage("urgent", "needs_support", ("bị bạo lực/xâm hại",), language="en")
    await ActionHandleUrgent().run(dispatcher, make_tracker("my husband hit me again", parse_data=parse), domain)
    [case] = services.store.list_cases()
    [message] = dispatcher.messages
    assert case.urgency == "needs_support" and carries_case(message) and "113" in message["text"]
    assert "Cảm ơn bạn đã tin tưởng" not in message["text"]


async def test_an_urgent_question_gets_the_numbers_first_then_the_answer(dispatcher, domain, services):
    parse = {**triage("urgent", "needs_support", ("bị bạo lực/xâm hại",), asks=True), **faq("utter_faq/dv_penalties")}
    tracker = make_tracker("chồng em hay đánh em, vậy anh ta có bị phạt không", parse_data=parse)
    await ActionHandleUrgent().run(dispatcher, tracker, domain)
    assert len(services.store.list_cases()) == 1
    first, second = dispatcher.messages
    assert carries_case(first) and "113" in first["text"]
    assert second["response"] == "utter_faq/dv_penalties"


async def test_an_urgent_message_that_asks_nothing_gets_no_faq(dispatcher, domain, services):
    parse = {**triage("urgent", "needs_support", ("bị bạo lực/xâm hại",)), **faq("utter_faq/dv_penalties")}
    await ActionHandleUrgent().run(dispatcher, make_tracker("chồng em hay đánh em", parse_data=parse), domain)
    assert len(dispatcher.messages) == 1


async def test_an_faq_answer_with_a_personal_note_is_followed_by_an_offer_of_help(dispatcher, domain, services):
    parse = {**triage("calm", personal=True), **faq("utter_faq/violence_economic", 0.3)}
    tracker = make_tracker("bạo lực kinh tế là gì, nhà em cũng hơi vậy", "faq", parse_data=parse)
    await ActionOfferSupport().run(dispatcher, tracker, domain)
    assert [m["text"] for m in dispatcher.messages] == [SUPPORT_LINE]
    assert "gặp tư vấn viên" in SUPPORT_LINE


@pytest.mark.parametrize("parse", [triage("calm"), {}, {"triage": "personal"}])
async def test_a_plain_faq_answer_gets_no_extra_line(dispatcher, domain, services, parse):
    await ActionOfferSupport().run(dispatcher, make_tracker("bạo lực gia đình bị phạt sao", "faq", parse_data=parse),
                                   domain)
    # No support line; only the subscription offer (issue 12), which an unsubscribed resident gets once a session.
    assert [m["text"] for m in dispatcher.messages] == [OFFER]


async def test_a_province_without_its_own_line_is_given_a_national_line_not_another_provinces(dispatcher, domain,
                                                                                              services):
    parse = triage("urgent", "needs_support", ("bị bạo lực/xâm hại",))
    await ActionHandleUrgent().run(dispatcher, make_tracker("tôi ở Hà Giang, chồng tôi hay đánh tôi", parse_data=parse),
                                   domain)
    await ActionFindHotline().run(dispatcher, make_tracker("tôi ở Hà Giang, cho xin số tư vấn", "ask_hotline"), domain)
    for message in dispatcher.messages:
        assert "0377672444" not in message["text"] and "Sóc Trăng" not in message["text"]
        assert "1900969680" in message["text"] and "toàn quốc" in message["text"] and "Hà Giang" in message["text"]


def test_safety_check_button_titles_fit_messengers_quick_reply_limit() -> None:
    assert all(0 < len(title) <= 20 for title, _ in SAFETY_BUTTONS + SAFETY_BUTTONS_EN)
