"""The unsure band and the answers around it: the safety check, its yes / no, English, FAQ with support.

Guarantees: a safety check always carries the emergency numbers and the three quick replies and
remembers when it was asked; a yes (button, or a typed "có" answering the check) opens a danger-now case
for the writer's own conversation only (the tracker's sender; payload entities are never read); a no
or a stale answer never opens a case; every reply in another language than Vietnamese carries the numbers.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    SAFETY_SLOT,
    awaiting_check,
    check_is_fresh,
    decision_of,
    faq_answer,
    language_of,
    mark_check,
    previous_user_event,
    province_of,
)
from actions.outreach import offer_subscription
from bot import replies
from bot.replies_en import info_reply_en, safety_check_en, urgent_reply_en
from bot.runtime import process_runtime
from bot.triage import DANGER_NOW, NEEDS_SUPPORT, TriageResult
from bot.triage.policy import CALM, UNSURE, URGENT

_COUNSELOR_EN = re.compile(r"\b(?:counsell?or|counsell?ing|social worker|a human|real person|talk to (?:someone|a person))\b",
                           re.IGNORECASE)
COUNSELOR_REASON = "người dùng yêu cầu gặp tư vấn viên"


def _check_language(tracker: Tracker) -> str:
    """The language of the message the pending check answered (a button press carries none of its own)."""
    previous = previous_user_event(tracker) or {}
    decision = decision_of(previous.get("parse_data") or {})
    return decision.language if decision is not None else language_of(tracker)


async def open_case(dispatcher: CollectingDispatcher, tracker: Tracker, text: str, result: TriageResult,
                    language: str) -> List[EventType]:
    """Record a case for this conversation's sender and answer with the urgent reply (English when asked in English)."""
    province, events = province_of(tracker)
    rt = process_runtime()
    case_id, recorded = await asyncio.to_thread(rt.escalate, tracker.sender_id, text, result, province,
                                                tracker.latest_message.get("message_id"))
    marker = replies.case_marker(case_id) if recorded else {}
    if language == "vi":
        availability = await asyncio.to_thread(rt.availability)  # None (plain wording) when the database is down
        body = replies.urgent_reply(result, rt.library, province, case_id, recorded, availability)
    else:
        body = urgent_reply_en(result, rt.library, province, case_id, recorded)
    dispatcher.utter_message(text=body, **marker)
    return events


def utter_check(dispatcher: CollectingDispatcher, tracker: Tracker, language: str) -> List[EventType]:
    """The safety check itself: the question, the numbers, the quick replies; remembers when it was asked."""
    province, events = province_of(tracker)
    lib = process_runtime().library
    text = replies.safety_check_reply(lib, province) if language == "vi" else safety_check_en(lib, province)
    dispatcher.utter_message(text=text, buttons=replies.safety_buttons(language))
    return [*events, mark_check()]


class ActionSafetyCheck(Action):
    """Unsure: answer the question the message asked (if the FAQ is confident), then ask whether anyone is in danger."""

    def name(self) -> Text:
        return "action_safety_check"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        decision = decision_of(tracker.latest_message)
        language = language_of(tracker)
        answer = faq_answer(tracker.latest_message)
        if decision is not None and decision.asks and answer and language == "vi":
            dispatcher.utter_message(response=answer)
        return utter_check(dispatcher, tracker, language)


class ActionSafetyYes(Action):
    """The resident confirms a danger: a danger-now case at once, for this conversation only."""

    def name(self) -> Text:
        return "action_safety_yes"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return await confirm_danger(dispatcher, tracker)


async def confirm_danger(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Open the case the yes asks for; the counselor sees the message that led to the check, then the answer."""
    previous = previous_user_event(tracker) or {}
    asked_about = (previous.get("text") or "").strip() if awaiting_check(tracker) else ""
    answer = (tracker.latest_message.get("text") or "").strip()
    answer = replies.SAFETY_BUTTONS[0][0] if answer.startswith("/") else answer
    text = f"{asked_about}\n[Trả lời câu hỏi an toàn: {answer}]" if asked_about else answer
    result = TriageResult(DANGER_NOW, (replies.SAFETY_CONFIRMED_REASON,))
    events = await open_case(dispatcher, tracker, text, result, _check_language(tracker))
    return [*events, SlotSet(SAFETY_SLOT, None)]


class ActionSafetyNo(Action):
    """Nobody is in danger now: reassure, invite the question; never a case."""

    def name(self) -> Text:
        return "action_safety_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return deny_danger(dispatcher, tracker)


def deny_danger(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """The reassurance after a no (English: the information reply, which carries the numbers)."""
    language = _check_language(tracker)
    if language == "vi":
        dispatcher.utter_message(text=replies.SAFETY_NO_REPLY)
    else:
        province, _ = province_of(tracker)
        dispatcher.utter_message(text=info_reply_en(process_runtime().library, province))
    return [SlotSet(SAFETY_SLOT, None)]


class ActionAffirm(Action):
    """A bare "có": the answer to a pending safety check (a case), else "what else can I do?"."""

    def name(self) -> Text:
        return "action_affirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if awaiting_check(tracker):
            if check_is_fresh(tracker):
                return await confirm_danger(dispatcher, tracker)
            return utter_check(dispatcher, tracker, _check_language(tracker))  # days later: ask again
        dispatcher.utter_message(text=replies.ANYTHING_ELSE)
        return []


class ActionDeny(Action):
    """A bare "không": the answer to a pending safety check (reassurance), else "what else can I do?"."""

    def name(self) -> Text:
        return "action_deny"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if awaiting_check(tracker):
            return deny_danger(dispatcher, tracker)
        dispatcher.utter_message(text=replies.ANYTHING_ELSE)
        return []


class ActionOtherLanguage(Action):
    """Not in Vietnamese: the same triage in English (case, check or information with the numbers)."""

    def name(self) -> Text:
        return "action_other_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        decision = decision_of(tracker.latest_message)
        text = tracker.latest_message.get("text") or ""
        if decision is not None and decision.band == URGENT:
            return await open_case(dispatcher, tracker, text, decision.result, "en")
        if decision is not None and decision.band == UNSURE:
            return utter_check(dispatcher, tracker, "en")
        if _COUNSELOR_EN.search(text):
            return await open_case(dispatcher, tracker, text, TriageResult(NEEDS_SUPPORT, (COUNSELOR_REASON,)), "en")
        province, events = province_of(tracker)
        dispatcher.utter_message(text=info_reply_en(process_runtime().library, province))
        return events


class ActionOfferSupport(Action):
    """After an FAQ answer (`utter_faq`): with an unclear personal note, one gentle line that help is there."""

    def name(self) -> Text:
        return "action_offer_support"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        decision = decision_of(tracker.latest_message)
        if decision is not None and decision.personal and decision.band == CALM:
            dispatcher.utter_message(text=replies.SUPPORT_LINE)
        else:
            await offer_subscription(dispatcher, tracker)  # a plain answer: the "Đăng ký nhận tin" quick reply
        return []
