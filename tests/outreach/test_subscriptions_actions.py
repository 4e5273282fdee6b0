"""The subscription conversation through the real actions: topics, province, the exact consent, stop, polls, offers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.outreach import (
    CONSENT_BUTTONS,
    NO_POLL,
    NOT_SUBSCRIBED,
    OFFER,
    POLL_THANKS,
    TOPIC_BUTTONS,
    UNSUBSCRIBED,
    ActionPollAnswer,
    ActionSubscribe,
    ActionSubscribeAnswer,
    ActionSubscribeTopic,
    ActionUnsubscribe,
    consent_wording,
    offer_subscription,
    poll_key,
)
from bot.cases.store import CaseRequest
from bot.db.engine import session_factory
from bot.outreach.models import (
    DONE,
    R_SENT,
    TOPIC_EVENTS,
    TOPIC_NEWS,
    Broadcast,
    BroadcastRecipient,
    PollAnswer,
    Subscription,
)
from bot.outreach.polls import voter_token
from bot.outreach.subscriptions import get_subscription, subscribe
from bot.timeutil import utcnow
from tests.actions import conftest as action_fixtures

services = action_fixtures.services  # a runtime over the temporary database
SENDER = "messenger:900"


class Conversation:
    """Plays turns against the actions, keeping slots and events like Rasa's tracker would."""

    def __init__(self, sender: str = SENDER, slots: dict | None = None) -> None:
        self.sender, self.slots, self.events = sender, dict(slots or {}), []
        self.replies: list[dict[str, Any]] = []

    async def turn(self, text: str, intent: str, action: Any) -> list[dict[str, Any]]:
        latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
        self.events.append({"event": "user", "text": text, "parse_data": latest})
        tracker = Tracker(self.sender, dict(self.slots), latest, list(self.events), False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        for event in await action.run(dispatcher, tracker, {}):
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.events.append({"event": "action", "name": action.name()})
        for m in dispatcher.messages:
            self.events.append({"event": "bot", "text": m.get("text"), "data": {"buttons": m.get("buttons")}})
        self.replies = dispatcher.messages
        return dispatcher.messages


async def test_news_subscription_stores_the_exact_consent_wording(services) -> None:
    c = Conversation()
    (ask,) = await c.turn("đăng ký nhận tin", "subscribe", ActionSubscribe())
    assert ask["buttons"] == TOPIC_BUTTONS and all(len(b["title"]) <= 20 for b in TOPIC_BUTTONS)
    (consent,) = await c.turn("/subscribe_news", "subscribe_news", ActionSubscribeTopic())
    assert consent["buttons"] == CONSENT_BUTTONS and "hủy đăng ký" in consent["text"]
    assert get_subscription(services.engine, SENDER) is None  # nothing stored before the resident agrees
    (done,) = await c.turn("Đồng ý", "affirm", ActionSubscribeAnswer())
    assert "hủy đăng ký" in done["text"]
    view = get_subscription(services.engine, SENDER)
    assert view.active and view.topics == (TOPIC_NEWS,) and view.province is None and view.channel == "messenger"
    with session_factory(services.engine)() as s:
        assert s.query(Subscription).one().consent_text == consent["text"]


async def test_events_need_a_province_typed_with_or_without_diacritics(services) -> None:
    c = Conversation()
    await c.turn("đăng ký nhận tin", "subscribe", ActionSubscribe())
    (ask,) = await c.turn("Cả hai", "subscribe_both", ActionSubscribeTopic())
    assert "tỉnh" in ask["text"]
    (consent,) = await c.turn("minh o nghe an", "inform_province", ActionSubscribeAnswer())
    assert "Nghệ An" in consent["text"]
    await c.turn("có", "affirm", ActionSubscribeAnswer())
    view = get_subscription(services.engine, SENDER)
    assert view.topics == (TOPIC_NEWS, TOPIC_EVENTS) and view.province == "Nghệ An"


async def test_a_province_known_from_the_conversation_is_confirmed_not_asked(services) -> None:
    c = Conversation(slots={"province": "Huế"})
    (confirm,) = await c.turn("/subscribe_events", "subscribe_events", ActionSubscribeTopic())
    assert "Huế" in confirm["text"] and [b["title"] for b in confirm["buttons"]] == ["Đúng", "Tỉnh khác"]
    await c.turn("/affirm", "affirm", ActionSubscribeAnswer())
    await c.turn("/affirm", "affirm", ActionSubscribeAnswer())
    view = get_subscription(services.engine, SENDER)
    assert view.topics == (TOPIC_EVENTS,) and view.province == "Huế"


async def test_declining_stores_nothing(services) -> None:
    c = Conversation()
    await c.turn("/subscribe_news", "subscribe_news", ActionSubscribeTopic())
    await c.turn("không", "deny", ActionSubscribeAnswer())
    assert get_subscription(services.engine, SENDER) is None


async def test_a_yes_that_does_not_follow_the_flows_question_subscribes_nobody(services) -> None:
    c = Conversation()
    await c.turn("/subscribe_news", "subscribe_news", ActionSubscribeTopic())
    c.events.append({"event": "action", "name": "action_handle_urgent"})  # another turn came between
    await c.turn("có", "affirm", ActionSubscribeAnswer())
    assert get_subscription(services.engine, SENDER) is None


async def test_already_subscribed_says_what_and_how_to_stop(services) -> None:
    subscribe(services.engine, SENDER, [TOPIC_EVENTS], "Huế", "x", utcnow())
    (reply,) = await Conversation().turn("đăng ký nhận tin", "subscribe", ActionSubscribe())
    assert "sự kiện ở Huế" in reply["text"] and "hủy đăng ký" in reply["text"]


async def test_unsubscribe_is_immediate_and_confirmed(services) -> None:
    (reply,) = await Conversation().turn("hủy đăng ký", "unsubscribe", ActionUnsubscribe())
    assert reply["text"] == NOT_SUBSCRIBED
    subscribe(services.engine, SENDER, [TOPIC_NEWS], None, "x", utcnow())
    (reply,) = await Conversation().turn("/unsubscribe", "unsubscribe", ActionUnsubscribe())
    assert reply["text"] == UNSUBSCRIBED and "đăng ký nhận tin" in reply["text"]
    assert get_subscription(services.engine, SENDER).active is False


def test_the_consent_wording_names_the_channel_and_how_to_stop() -> None:
    text = consent_wording((TOPIC_NEWS, TOPIC_EVENTS), "Nghệ An", "zalo:1")
    assert "Zalo" in text and "Nghệ An" in text and "hủy đăng ký" in text and "màn hình khóa" in text


async def test_a_poll_answer_is_counted_once_for_the_newest_open_poll(services) -> None:
    (reply,) = await Conversation().turn("/poll_option_1", "poll_option_1", ActionPollAnswer())
    assert reply["text"] == NO_POLL
    with session_factory(services.engine).begin() as s:
        b = Broadcast(text="t", buttons=json.dumps(["Có", "Không"]), poll_question="Bạn có đi không?",
                      start_at=utcnow(), state=DONE, created_by="an")
        s.add(b)
        s.flush()
        s.add(BroadcastRecipient(broadcast_id=b.id, sender_id=SENDER, channel="messenger", status=R_SENT,
                                 at=utcnow() - timedelta(hours=1)))
        poll = b.id
    (reply,) = await Conversation().turn("/poll_option_2", "poll_option_2", ActionPollAnswer())
    assert reply["text"] == POLL_THANKS
    await Conversation().turn("/poll_option_1", "poll_option_1", ActionPollAnswer())
    (reply,) = await Conversation().turn("/poll_option_4", "poll_option_4", ActionPollAnswer())
    assert reply["text"] == NO_POLL  # not one of this poll's answers
    with session_factory(services.engine)() as s:
        (answer,) = s.query(PollAnswer).all()
    assert answer.option == 0 and answer.voter == voter_token(poll_key(), poll, SENDER)


async def test_the_offer_comes_once_a_session_and_never_to_subscribers_or_open_cases(services) -> None:
    c = Conversation(sender="zalo:5")

    async def offered() -> bool:
        latest = {"text": "tháng hành động là khi nào", "intent": {"name": "ask_campaign_dates"}}
        tracker = Tracker(c.sender, {}, latest, list(c.events), False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        await offer_subscription(dispatcher, tracker)
        for m in dispatcher.messages:
            c.events.append({"event": "bot", "text": m["text"], "data": {"buttons": m.get("buttons")}})
        return [m["text"] for m in dispatcher.messages] == [OFFER]

    assert await offered()
    assert not await offered()  # once per session
    c.events.append({"event": "session_started"})
    assert await offered()
    c.events.append({"event": "session_started"})
    subscribe(services.engine, "zalo:5", [TOPIC_NEWS], None, "x", utcnow())
    assert not await offered()
    c2 = Conversation(sender="zalo:6")
    services.store.open_case(CaseRequest(channel="zalo", sender_id="zalo:6", urgency="needs_support", message="m",
                                         reasons=("r",)))
    c.sender = c2.sender
    assert not await offered()


@pytest.mark.parametrize("band, personal", [("urgent", False), ("unsure", False), ("calm", True)])
async def test_no_offer_after_an_urgent_or_support_reply(services, band, personal) -> None:
    latest = {"text": "x", "intent": {"name": "faq"},
              "triage": {"urgency": "danger_now" if band == "urgent" else "none", "reasons": [],
                         "classifier": {"name": "faq"}, "band": band, "asks": False, "personal": personal,
                         "language": "vi"}}
    tracker = Tracker("zalo:7", {}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    await offer_subscription(dispatcher, tracker)
    assert dispatcher.messages == []
