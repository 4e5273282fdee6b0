"""What the actions read from the tracker: the province, the pipeline's decision, the FAQ answer, the safety check.

Guarantees: every helper reads only the tracker it is given (the writer's own conversation), never
raises on missing or malformed parse data, and never assesses a message the pipeline already decided.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot import review_queue
from bot.content.provinces import ProvinceMatch
from bot.language import detect_language
from bot.nlu.verdict import read_decision
from bot.runtime import process_runtime
from bot.triage.policy import Decision

SAFETY_SLOT = "safety_check_at"
SAFETY_ACTION = "action_safety_check"
FAQ_THRESHOLD = 0.5  # below it, the ResponseSelector's guess is not uttered beside a case or a check (docs/flow.md)
CHECK_FRESH_SECONDS = 24 * 3600  # a typed "có" this long after the check still answers it
_QUIET_ACTIONS = {"action_listen", "action_session_start"}


def now() -> float:
    """Epoch seconds (a function, so tests can move the clock)."""
    return time.time()


def mark_check() -> SlotSet:
    """The slot event remembering that a safety check was asked, now."""
    return SlotSet(SAFETY_SLOT, now())


def province_of(tracker: Tracker) -> tuple[ProvinceMatch | None, List[EventType]]:
    """The province named in the latest message, else the one remembered in the slot."""
    lib = process_runtime().library
    found = lib.provinces.find(tracker.latest_message.get("text") or "")
    if found:
        return found, [SlotSet("province", found.named)]
    remembered = tracker.get_slot("province")
    if remembered:
        current = lib.provinces.current_of(remembered)
        if current:
            return ProvinceMatch(current, remembered), []
    return None, []


def decision_of(message: Mapping[str, Any]) -> Decision | None:
    """The pipeline's decision for a user message (latest_message or an event's parse_data)."""
    return read_decision(message) if isinstance(message, Mapping) else None


def language_of(tracker: Tracker) -> str:
    """The language of the latest message: the pipeline's, else detected (a button press has none)."""
    decision = decision_of(tracker.latest_message)
    if decision is not None:
        return decision.language
    text = tracker.latest_message.get("text") or ""
    return "vi" if text.startswith("/") else detect_language(text)


def faq_answer(message: Mapping[str, Any], threshold: float = FAQ_THRESHOLD) -> str | None:
    """The FAQ response the ResponseSelector chose (`utter_faq/<topic>`), when its confidence reaches `threshold`."""
    selector = message.get("response_selector")
    faq = selector.get("faq") if isinstance(selector, Mapping) else None
    response = faq.get("response") if isinstance(faq, Mapping) else None
    if not isinstance(response, Mapping):
        return None
    utter, confidence = response.get("utter_action"), response.get("confidence")
    if not isinstance(utter, str) or not utter.startswith("utter_faq/"):
        return None
    try:
        return utter if float(confidence or 0.0) >= threshold else None
    except (TypeError, ValueError):
        return None


def previous_user_event(tracker: Tracker) -> dict[str, Any] | None:
    """The user event before the latest one, if any."""
    user_turns = [e for e in tracker.events if e.get("event") == "user"]
    return user_turns[-2] if len(user_turns) >= 2 else None


def last_action_before_latest(tracker: Tracker) -> str | None:
    """The last action the bot ran before the latest user message (session starts and listening skipped)."""
    seen_latest = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user" and not seen_latest:
            seen_latest = True
        elif kind == "user":
            return None
        elif seen_latest and kind == "action" and event.get("name") not in _QUIET_ACTIONS:
            return event.get("name")
    return None


def awaiting_check(tracker: Tracker) -> bool:
    """True when the bot's last question in this conversation was a safety check not yet answered."""
    return tracker.get_slot(SAFETY_SLOT) is not None and last_action_before_latest(tracker) == SAFETY_ACTION


def check_is_fresh(tracker: Tracker) -> bool:
    """True when the pending safety check was asked recently enough for a bare "có" to answer it."""
    try:
        asked = float(tracker.get_slot(SAFETY_SLOT))
    except (TypeError, ValueError):
        return False
    return 0 <= now() - asked <= CHECK_FRESH_SECONDS


async def keep_for_review(store: Any, sender_id: str, text: str, intent: str | None, confidence: float | None,
                          reason: str) -> int | None:
    """Put a message in the staff review queue off the event loop; None when it was not kept (never raises)."""
    try:
        return await asyncio.to_thread(review_queue.record_unanswered, store, sender_id, text, intent, confidence,
                                       reason)
    except Exception:
        logging.getLogger(__name__).warning("review queue unavailable; a %s message was not kept", reason)
        return None
