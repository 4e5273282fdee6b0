"""Subscribing, unsubscribing and answering polls, in Vietnamese, for the tracker's own sender only.

Guarantees: a subscription is stored only after the resident agreed to the consent wording shown in that
conversation, and that exact wording is what is stored; an unsubscribe needs no question and is effective
before the confirmation is sent; the flow's answers (a typed "có", a province) count only right after the
flow's own question, so any other turn (an urgent message first of all: triage routes it to its own
action) ends the flow; the "Đăng ký nhận tin" quick reply is offered only after an informational answer,
in Vietnamese, to a resident with no open case who is not subscribed, at most once per session.
Nothing here logs a sender id or a message.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import decision_of, language_of, last_action_before_latest, province_of
from bot import replies
from bot.config import env
from bot.erasure import open_case_senders
from bot.outreach.models import TOPIC_EVENTS, TOPIC_NEWS
from bot.outreach.polls import latest_open_poll, record_answer
from bot.outreach.subscriptions import get_subscription, subscribe, unsubscribe
from bot.retention import privacy_settings_from_env
from bot.runtime import process_runtime
from bot.senders import channel_of
from bot.timeutil import utcnow
from bot.triage.policy import CALM

log = logging.getLogger(__name__)

STEP_SLOT, TOPICS_SLOT, PROVINCE_SLOT = "subscribe_step", "subscribe_topics", "subscribe_province"
TOPIC, CONFIRM_PROVINCE, ASK_PROVINCE, RETRY_PROVINCE, CONSENT = "topic", "confirm", "province", "retry", "consent"
FLOW_ACTIONS = ("action_subscribe", "action_subscribe_topic", "action_subscribe_answer")
SUBSCRIBE_PAYLOAD = "/subscribe"
TOPIC_INTENTS = {"subscribe_news": (TOPIC_NEWS,), "subscribe_events": (TOPIC_EVENTS,),
                 "subscribe_both": (TOPIC_NEWS, TOPIC_EVENTS)}
CHANNEL_NAMES = {"zalo": "Zalo", "messenger": "Messenger", "telegram": "Telegram", "rest": "trang trò chuyện"}

# Quick-reply titles stay within 20 characters (Messenger's limit).
OFFER_BUTTON = {"title": "Đăng ký nhận tin", "payload": SUBSCRIBE_PAYLOAD}
TOPIC_BUTTONS = [{"title": "Tin Tháng hành động", "payload": "/subscribe_news"},
                 {"title": "Sự kiện ở tỉnh tôi", "payload": "/subscribe_events"},
                 {"title": "Cả hai", "payload": "/subscribe_both"}]
CONSENT_BUTTONS = [{"title": "Đồng ý", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}]
PROVINCE_BUTTONS = [{"title": "Đúng", "payload": "/affirm"}, {"title": "Tỉnh khác", "payload": "/deny"}]

OFFER = "Bạn có muốn nhận tin về Tháng hành động và các sự kiện ở tỉnh mình không? Mỗi tháng chỉ vài tin."
ASK_TOPIC = ("Bạn muốn nhận tin gì?\n• Tin Tháng hành động: chủ đề, thông điệp, nơi nhận hỗ trợ\n"
             "• Sự kiện ở tỉnh tôi: nhắc trước các sự kiện ở tỉnh/thành phố của bạn\n• Cả hai")
CONFIRM_PROVINCE_TEXT = "Bạn ở {province} phải không?"
ASK_PROVINCE_TEXT = "Bạn ở tỉnh/thành phố nào? Nhắn tên tỉnh, ví dụ “Nghệ An” hoặc “nghe an”."
RETRY_PROVINCE_TEXT = "Mình chưa nhận ra tên tỉnh/thành phố. Bạn nhắn lại giúp mình, ví dụ “Hà Nội” hoặc “Cần Thơ”."
NO_PROVINCE = ("Mình chưa biết bạn ở tỉnh nào nên chưa đăng ký nhận tin sự kiện. Khi nào muốn, bạn nhắn "
               "“đăng ký nhận tin” và tên tỉnh của bạn nhé.")
CONSENT_TEXT = ("Bạn đồng ý nhận {what} từ Hội Liên hiệp Phụ nữ qua {channel} không? Mỗi tháng chỉ vài tin. "
                "Hội chỉ lưu mã tài khoản {channel} của bạn, nội dung bạn chọn{province_note} và thời điểm bạn "
                "đồng ý, không chia sẻ cho ai. Tin nhắn có thể hiện trên màn hình khóa: nếu người khác xem được "
                "điện thoại của bạn, hãy cân nhắc. Bạn có thể dừng bất cứ lúc nào bằng cách nhắn “hủy đăng ký”.")
CONSENT_AGAIN = "Bạn nhắn “Đồng ý” để đăng ký, hoặc “Không” nếu không muốn nhận tin."
SUBSCRIBED = ("Cảm ơn bạn! Mình đã đăng ký cho bạn nhận {what}. Muốn dừng, bạn nhắn “hủy đăng ký” hoặc "
              "“dừng nhận tin” bất cứ lúc nào.")
DECLINED = "Mình chưa đăng ký gì cho bạn. Khi nào muốn, bạn cứ nhắn “đăng ký nhận tin”."
ALREADY = ("Bạn đang nhận {what}. Muốn dừng, bạn nhắn “hủy đăng ký” hoặc “dừng nhận tin”; muốn đổi nội dung, "
           "bạn chọn lại bên dưới.")
UNSUBSCRIBED = ("Bạn đã dừng nhận tin của Hội Liên hiệp Phụ nữ; mình sẽ không gửi tin nào cho bạn nữa. "
                "Muốn nhận lại, nhắn “đăng ký nhận tin”.")
NOT_SUBSCRIBED = ("Bạn hiện không đăng ký nhận tin nào nên sẽ không nhận tin từ mình. Muốn nhận tin, "
                  "nhắn “đăng ký nhận tin”.")
NOT_SAVED = "Xin lỗi, mình chưa lưu được lựa chọn của bạn. Bạn vui lòng nhắn lại sau ít phút."
NOT_STOPPED = "Xin lỗi, mình chưa dừng được việc nhận tin. Bạn vui lòng nhắn “hủy đăng ký” lại sau ít phút."
POLL_THANKS = "Cảm ơn bạn đã trả lời."
NO_POLL = "Hiện không có câu hỏi khảo sát nào đang chờ bạn trả lời (câu hỏi có thể đã đóng). Cảm ơn bạn!"


@lru_cache(maxsize=1)
def poll_key() -> bytes:
    """The anonymous-token key the desk uses (PRIVACY_TOKEN_SECRET, else derived from DESK_SESSION_SECRET)."""
    return privacy_settings_from_env(env("DESK_SESSION_SECRET")).token_key


def describe(topics: tuple[str, ...] | list[str], province: str | None) -> str:
    """What a subscription brings, in words: "tin Tháng hành động và tin sự kiện ở Nghệ An"."""
    parts = []
    if TOPIC_NEWS in topics:
        parts.append("tin Tháng hành động")
    if TOPIC_EVENTS in topics:
        parts.append(f"tin sự kiện ở {province}" if province else "tin sự kiện")
    return " và ".join(parts) or "tin"


def consent_wording(topics: tuple[str, ...], province: str | None, sender_id: str) -> str:
    """The exact wording the resident agrees to (stored with the subscription)."""
    channel = CHANNEL_NAMES.get(channel_of(sender_id), "ứng dụng này")
    note = f", tỉnh/thành phố {province}" if province else ""
    return CONSENT_TEXT.format(what=describe(topics, province), channel=channel, province_note=note)


def _topics(tracker: Tracker) -> tuple[str, ...]:
    raw = tracker.get_slot(TOPICS_SLOT) or ""
    return tuple(t for t in (TOPIC_NEWS, TOPIC_EVENTS) if t in raw.split(","))


def _ask_consent(dispatcher: CollectingDispatcher, tracker: Tracker, topics: tuple[str, ...],
                 province: str | None) -> List[EventType]:
    dispatcher.utter_message(text=consent_wording(topics, province, tracker.sender_id), buttons=CONSENT_BUTTONS)
    return [SlotSet(STEP_SLOT, CONSENT), SlotSet(PROVINCE_SLOT, province)]


def _end() -> List[EventType]:
    return [SlotSet(STEP_SLOT, None), SlotSet(TOPICS_SLOT, None), SlotSet(PROVINCE_SLOT, None)]


class ActionSubscribe(Action):
    """"Đăng ký nhận tin": say what the resident already receives, or ask what to receive."""

    def name(self) -> Text:
        return "action_subscribe"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        engine = process_runtime().engine
        try:
            current = await asyncio.to_thread(get_subscription, engine, tracker.sender_id) if engine else None
        except Exception as exc:
            log.warning("subscriptions unavailable: %s", type(exc).__name__)
            current = None
        if current is not None and current.active:
            dispatcher.utter_message(text=ALREADY.format(what=describe(current.topics, current.province)),
                                     buttons=TOPIC_BUTTONS)
        else:
            dispatcher.utter_message(text=ASK_TOPIC, buttons=TOPIC_BUTTONS)
        return [SlotSet(STEP_SLOT, TOPIC)]


class ActionSubscribeTopic(Action):
    """A topic chosen: ask (or confirm) the province when events need one, then the consent."""

    def name(self) -> Text:
        return "action_subscribe_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        topics = TOPIC_INTENTS.get(intent, (TOPIC_NEWS,))
        events: List[EventType] = [SlotSet(TOPICS_SLOT, ",".join(topics))]
        if TOPIC_EVENTS not in topics:
            return events + _ask_consent(dispatcher, tracker, topics, None)
        province, found = province_of(tracker)
        if province is None:
            dispatcher.utter_message(text=ASK_PROVINCE_TEXT)
            return events + [SlotSet(STEP_SLOT, ASK_PROVINCE)]
        if found:  # named in this very message ("nhận tin sự kiện ở Huế"): nothing to confirm
            return events + found + _ask_consent(dispatcher, tracker, topics, province.current)
        dispatcher.utter_message(text=CONFIRM_PROVINCE_TEXT.format(province=province.label()),
                                 buttons=PROVINCE_BUTTONS)
        return events + [SlotSet(STEP_SLOT, CONFIRM_PROVINCE), SlotSet(PROVINCE_SLOT, province.current)]


class ActionSubscribeAnswer(Action):
    """The answer to the flow's last question: the province (confirmed or typed), then agree or decline."""

    def name(self) -> Text:
        return "action_subscribe_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        step = tracker.get_slot(STEP_SLOT) if last_action_before_latest(tracker) in FLOW_ACTIONS else None
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        topics = _topics(tracker)
        if step in (CONFIRM_PROVINCE, ASK_PROVINCE, RETRY_PROVINCE) and topics:
            return self._province(dispatcher, tracker, step, intent, topics)
        if step == CONSENT and topics:
            if intent == "affirm":
                return await self._store(dispatcher, tracker, topics)
            if intent == "deny":
                dispatcher.utter_message(text=DECLINED)
                return _end()
            dispatcher.utter_message(text=CONSENT_AGAIN, buttons=CONSENT_BUTTONS)
            return []
        # Not an answer to the flow (it ended, or another turn came between): an ordinary reply.
        province, events = province_of(tracker)
        if intent == "inform_province" and province is not None:
            rt = process_runtime()
            dispatcher.utter_message(text=replies.events_reply(rt.library, province, rt.today()))
        else:
            dispatcher.utter_message(text=replies.ANYTHING_ELSE)
        return events + _end()

    def _province(self, dispatcher: CollectingDispatcher, tracker: Tracker, step: str, intent: str | None,
                  topics: tuple[str, ...]) -> List[EventType]:
        found = process_runtime().library.provinces.find(tracker.latest_message.get("text") or "")
        if found is not None:
            return [SlotSet("province", found.named)] + _ask_consent(dispatcher, tracker, topics, found.current)
        if step == CONFIRM_PROVINCE and intent == "affirm":
            return _ask_consent(dispatcher, tracker, topics, tracker.get_slot(PROVINCE_SLOT))
        if step == CONFIRM_PROVINCE:
            dispatcher.utter_message(text=ASK_PROVINCE_TEXT)
            return [SlotSet(STEP_SLOT, ASK_PROVINCE), SlotSet(PROVINCE_SLOT, None)]
        if step == ASK_PROVINCE:
            dispatcher.utter_message(text=RETRY_PROVINCE_TEXT)
            return [SlotSet(STEP_SLOT, RETRY_PROVINCE)]
        if TOPIC_NEWS in topics:  # asked twice: keep the news, without events
            return _ask_consent(dispatcher, tracker, (TOPIC_NEWS,), None) + [SlotSet(TOPICS_SLOT, TOPIC_NEWS)]
        dispatcher.utter_message(text=NO_PROVINCE)
        return _end()

    async def _store(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     topics: tuple[str, ...]) -> List[EventType]:
        province = tracker.get_slot(PROVINCE_SLOT) if TOPIC_EVENTS in topics else None
        wording = consent_wording(topics, province, tracker.sender_id)  # the very text the resident agreed to
        engine = process_runtime().engine
        try:
            if engine is None:
                raise RuntimeError("database unavailable")
            await asyncio.to_thread(subscribe, engine, tracker.sender_id, topics, province, wording, utcnow())
        except Exception as exc:
            log.warning("subscription not stored: %s", type(exc).__name__)
            dispatcher.utter_message(text=NOT_SAVED)
            return _end()
        dispatcher.utter_message(text=SUBSCRIBED.format(what=describe(topics, province)))
        return _end()


class ActionUnsubscribe(Action):
    """"Hủy đăng ký" / "Dừng nhận tin": stop at once, no question asked, and confirm."""

    def name(self) -> Text:
        return "action_unsubscribe"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        engine = process_runtime().engine
        try:
            if engine is None:
                raise RuntimeError("database unavailable")
            was_active = await asyncio.to_thread(unsubscribe, engine, tracker.sender_id, utcnow())
        except Exception as exc:
            log.warning("unsubscribe not stored: %s", type(exc).__name__)
            dispatcher.utter_message(text=NOT_STOPPED)
            return _end()
        dispatcher.utter_message(text=UNSUBSCRIBED if was_active else NOT_SUBSCRIBED)
        return _end()


class ActionPollAnswer(Action):
    """A poll's quick reply (/poll_option_N): counted for the newest open poll sent to this sender, anonymously."""

    def name(self) -> Text:
        return "action_poll_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        chosen = int(intent.rsplit("_", 1)[1]) if intent.rsplit("_", 1)[-1].isdigit() else 0
        engine = process_runtime().engine
        recorded = False
        try:
            if engine is not None and chosen >= 1:
                now = utcnow()
                poll = await asyncio.to_thread(latest_open_poll, engine, tracker.sender_id, now)
                if poll is not None:
                    recorded = await asyncio.to_thread(record_answer, engine, poll[0], tracker.sender_id,
                                                       chosen - 1, poll_key(), now)
        except Exception as exc:
            log.warning("poll answer not stored: %s", type(exc).__name__)
        dispatcher.utter_message(text=POLL_THANKS if recorded else NO_POLL)
        return []


def _offered_this_session(tracker: Tracker) -> bool:
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return False
        if event.get("event") == "bot":
            buttons = (event.get("data") or {}).get("buttons") or []
            if any(isinstance(b, dict) and b.get("payload") == SUBSCRIBE_PAYLOAD for b in buttons):
                return True
    return False


async def offer_subscription(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """After an informational answer: the "Đăng ký nhận tin" quick reply, when it is appropriate (see above)."""
    decision = decision_of(tracker.latest_message)
    if language_of(tracker) != "vi" or (decision is not None and (decision.band != CALM or decision.personal)):
        return
    engine = process_runtime().engine
    if engine is None or _offered_this_session(tracker):
        return
    try:
        current = await asyncio.to_thread(get_subscription, engine, tracker.sender_id)
        open_case = await asyncio.to_thread(open_case_senders, engine, [tracker.sender_id])
    except Exception as exc:  # no offer is better than a wrong one
        log.warning("subscription offer skipped: %s", type(exc).__name__)
        return
    if (current is None or not current.active) and not open_case:
        dispatcher.utter_message(text=OFFER, buttons=[OFFER_BUTTON])
