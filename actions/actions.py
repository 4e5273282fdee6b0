"""Thin Rasa custom actions: each reads the tracker, calls into `bot`, and replies."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.context import decision_of, faq_answer, keep_for_review, language_of, province_of
from actions.outreach import offer_subscription
from actions.triage import open_case
from bot import replies, review_queue
from bot.content.campaign import asked_year
from bot.nlu.verdict import read_verdict
from bot.privacy import request_deletion
from bot.runtime import process_runtime
from bot.triage import NEEDS_SUPPORT, TriageResult, assess, combine
from bot.triage.policy import URGENT

log = logging.getLogger(__name__)
FALLBACK_INTENTS = {"nlu_fallback", "out_of_scope"}


class ActionHandleUrgent(Action):
    """Someone is hurt or in danger: record a case, answer with care and the numbers (and the question asked)."""

    def name(self) -> Text:
        return "action_handle_urgent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        msg = tracker.latest_message
        text = msg.get("text") or ""
        decision = decision_of(msg)
        if decision is not None and decision.band == URGENT:
            result = decision.result  # the pipeline decided once; nothing is assessed again
        else:
            intent = msg.get("intent") or {}
            rules = read_verdict(msg)  # assessed here only when the pipeline wrote nothing (a forced intent)
            rules = assess(text) if rules is None else rules
            result = combine(rules, intent.get("name"), float(intent.get("confidence") or 0.0), text=text)
        if not result.urgent:
            # The classifier chose this action with low confidence and no rule fired: still escalate,
            # a missed case is worse than a false alarm.
            result = TriageResult(NEEDS_SUPPORT, ("bộ phân loại (độ tin cậy thấp)",))
        language = language_of(tracker)
        events = await open_case(dispatcher, tracker, text, result, language)
        answer = faq_answer(msg)
        if decision is not None and decision.asks and answer and language == "vi":
            dispatcher.utter_message(response=answer)  # numbers first, then the answer to the question
        return events


class ActionRequestCounselor(Action):
    """The resident asks for a person: open a needs-support case."""

    def name(self) -> Text:
        return "action_request_counselor"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        msg = tracker.latest_message
        province, events = province_of(tracker)
        rt = process_runtime()
        result = TriageResult(NEEDS_SUPPORT, ("người dùng yêu cầu gặp tư vấn viên",))
        case_id, recorded = await asyncio.to_thread(rt.escalate, tracker.sender_id, msg.get("text") or "",
                                                    result, province, msg.get("message_id"))
        marker = replies.case_marker(case_id) if recorded else {}
        availability = await asyncio.to_thread(rt.availability)  # None (plain wording) when the database is down
        dispatcher.utter_message(text=replies.counselor_request_reply(rt.library, province, case_id, recorded,
                                                                      availability), **marker)
        return events


class ActionFindHotline(Action):
    """Numbers to call, with the counseling line for the resident's province."""

    def name(self) -> Text:
        return "action_find_hotline"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        province, events = province_of(tracker)
        dispatcher.utter_message(text=replies.hotline_reply(process_runtime().library, province))
        return events


class ActionCampaignDates(Action):
    """When the Action Month takes place, for the year asked (default: this year)."""

    def name(self) -> Text:
        return "action_campaign_dates"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        rt = process_runtime()
        today = rt.today()
        year = asked_year(tracker.latest_message.get("text") or "", today)
        dispatcher.utter_message(text=rt.library.campaign.dates_answer(year, today))
        await offer_subscription(dispatcher, tracker)
        return []


class ActionCampaignTheme(Action):
    """The theme of the year asked, or the latest known theme when that year has none on file."""

    def name(self) -> Text:
        return "action_campaign_theme"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        rt = process_runtime()
        year = asked_year(tracker.latest_message.get("text") or "", rt.today())
        dispatcher.utter_message(text=rt.library.campaign.theme_answer(year))
        await offer_subscription(dispatcher, tracker)
        return []


class ActionUpcomingEvents(Action):
    """Upcoming events in the resident's province, or what usually happens."""

    def name(self) -> Text:
        return "action_upcoming_events"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        rt = process_runtime()
        province, events = province_of(tracker)
        dispatcher.utter_message(text=replies.events_reply(rt.library, province, rt.today()))
        if not rt.library.events.upcoming(province.current if province else None, rt.library.provinces, rt.today()):
            msg = tracker.latest_message
            await keep_for_review(rt.store, tracker.sender_id, msg.get("text") or "", "ask_events",
                                  (msg.get("intent") or {}).get("confidence"), "not_on_file")
        await offer_subscription(dispatcher, tracker)
        return events


class ActionDeleteData(Action):
    """After confirmation: record the request to delete the sender's data (utter_delete_done follows).

    If the request cannot be recorded the resident is told to ask again, and utter_delete_done is skipped.
    """

    def name(self) -> Text:
        return "action_delete_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        engine = process_runtime().engine
        try:
            if engine is None:
                raise RuntimeError("database unavailable")
            await asyncio.to_thread(request_deletion, engine, tracker.sender_id)
        except Exception as exc:  # not recorded: say so, and skip utter_delete_done
            log.warning("deletion request not recorded: %s", type(exc).__name__)
            dispatcher.utter_message(text=replies.DELETE_NOT_RECORDED)
            return [FollowupAction("action_listen")]
        return []


class ActionFallback(Action):
    """Not understood: say what the bot can do; on the second miss in a row, offer the hotline."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text=replies.fallback_reply(process_runtime().library, _previous_turn_missed(tracker)))
        try:
            await asyncio.to_thread(review_queue.record_from_message, process_runtime().store, tracker.sender_id,
                                    tracker.latest_message)
        except Exception:
            log.warning("review queue unavailable; the unanswered message was not kept")
        return []


class ActionMarkUnhelpful(Action):
    """The resident says the last answer did not help: keep that question for staff review (a thank-you follows)."""

    def name(self) -> Text:
        return "action_mark_unhelpful"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        previous = _previous_user_turn(tracker)
        if previous is not None:
            intent = (previous.get("parse_data") or {}).get("intent") or {}
            await keep_for_review(process_runtime().store, tracker.sender_id, previous.get("text") or "",
                                  intent.get("name"), intent.get("confidence"), "unhelpful")
        return []


def _previous_user_turn(tracker: Tracker) -> dict[str, Any] | None:
    """The user event before the latest one, if any."""
    user_turns = [e for e in tracker.events if e.get("event") == "user"]
    return user_turns[-2] if len(user_turns) >= 2 else None


def _previous_turn_missed(tracker: Tracker) -> bool:
    """True when the user turn before the latest one also ended in a fallback."""
    previous = _previous_user_turn(tracker)
    intent = ((previous or {}).get("parse_data") or {}).get("intent") or {}
    return intent.get("name") in FALLBACK_INTENTS
