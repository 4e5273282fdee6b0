"""FAQ answers, honest when unsure: answer, "did you mean" with 2–3 topics, or "not on file" (issue 10 item 3).

`action_answer_faq` runs for every message classified `faq`; `bot.nlu.faq_choice.decide` chooses, and the slot
`faq_decision` tells the rules (data/rules/faq_choice.yml) what follows:
- answer: nothing sent here; the rule goes on with `utter_faq` and `action_offer_support`, exactly as before;
- ask: "Có phải bạn muốn hỏi:" with the topics' titles numbered in the text (REST and Zalo show text only) and
  quick replies "1" … "3" (`/choose_option_N`, within Messenger's 20 characters) plus "Hỏi tư vấn viên"
  (`/request_counselor`); the offered topics are kept in the slot `faq_options`;
- not_on_file: "Mình chưa có thông tin này…", whom to ask and the numbers; the question goes to the review queue.
`action_faq_choice` answers an option (a button, or a typed "2" right after "did you mean") with that topic's
response and what `ActionOfferSupport` adds (its own code, called).

Guarantees: an option is only ever a `faq/<topic>` key from the ranking with a title in content/faq; a choice is
read only from this conversation's slot; urgent messages never reach these actions (the pipeline routes them to
`report_violence` before any rule); the review queue keeps nothing from a sender with a case and never fails the
reply.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionFallback
from actions.context import keep_for_review, last_action_before_latest, province_of
from actions.triage import ActionOfferSupport
from bot import replies
from bot.config import CONTENT_DIR
from bot.content.faq import load_topics
from bot.content.reloading import content_stamp
from bot.nlu.faq_choice import ANSWER, ASK, FAQ_PREFIX, MAX_OPTIONS, NOT_ON_FILE, decide
from bot.runtime import process_runtime
from bot.text import normalize

log = logging.getLogger(__name__)

ACTION, CHOICE_ACTION = "action_answer_faq", "action_faq_choice"
OPTIONS_SLOT = "faq_options"                # the offered topics (faq/<topic>), in the buttons' order
DECISION_SLOT = "faq_decision"              # answer | ask | not_on_file | chosen: the rules branch on it
CHOSEN = "chosen"
CHOICE_INTENT = "choose_option_{}"          # 1-based; the buttons' payloads are "/choose_option_N"
CHOICE_INTENTS = {CHOICE_INTENT.format(n): n for n in range(1, MAX_OPTIONS + 1)}
BUTTON_TITLE_MAX = 20                       # Messenger cuts quick-reply titles there
COUNSELOR_BUTTON = {"title": "Hỏi tư vấn viên", "payload": replies.COUNSELOR}
# After bot.text.normalize: "ạ" arrives as "anh" (teencode expansion of "a"), diacritics folded.
_TYPED_NUMBER = re.compile(r"(?:so |chon |cau |y |phuong an |cai )?([1-9])(?: a| anh| nhe| nha| nhen)?")

ASK_HEAD = "Có phải bạn muốn hỏi:"
ASK_TAIL = ("Bạn bấm hoặc nhắn số của câu bạn muốn hỏi. Nếu không phải, bạn hỏi lại theo cách khác, hoặc bấm "
            "\"Hỏi tư vấn viên\" để nói chuyện với người thật.")
NOT_ON_FILE_HEAD = ("Mình chưa có thông tin này nên không muốn trả lời bạn cho sai. Bạn có thể hỏi Hội Liên hiệp "
                    "Phụ nữ hoặc Ủy ban nhân dân xã, phường nơi bạn ở: họ nắm rõ các hoạt động và việc ở địa "
                    "phương.")
NOT_ON_FILE_KEPT = "Mình đã ghi lại câu hỏi để cán bộ Hội bổ sung câu trả lời."
NOT_ON_FILE_NUMBERS = "Muốn nói chuyện với người thật, bạn nhắn \"gặp tư vấn viên\" hoặc gọi:"
CHOICE_GONE = ("Mình không còn giữ các lựa chọn lúc nãy. Bạn nhắn lại câu hỏi giúp mình nhé, hoặc nhắn "
               "\"gặp tư vấn viên\" để nói chuyện với người thật.")


class _Titles:
    """The topics' titles from content/faq, read again when a file there changes."""

    def __init__(self, folder: Path) -> None:
        self.folder, self._stamp, self._titles = folder, None, {}
        self._lock = threading.Lock()

    def get(self) -> dict[str, str]:
        with self._lock:
            stamp = content_stamp(self.folder)
            if stamp != self._stamp:
                try:
                    self._titles = {f"{FAQ_PREFIX}{t.topic}": t.title.strip() for t in load_topics(self.folder)}
                except Exception:  # a broken edit: keep the titles we had
                    log.exception("FAQ titles could not be reloaded; the previous ones stay in use")
                self._stamp = stamp
            return dict(self._titles)


TITLES = _Titles(CONTENT_DIR / "faq")


def offered(tracker: Tracker) -> list[str]:
    """The topics of this conversation's last "did you mean" (`faq/<topic>` keys only)."""
    value = tracker.get_slot(OPTIONS_SLOT)
    if not isinstance(value, list):
        return []
    return [v for v in value[:MAX_OPTIONS] if isinstance(v, str) and v.startswith(FAQ_PREFIX)]


def typed_choice(text: str) -> int | None:
    """The option a short typed reply names ("2", "số 2", "chọn 2 nhé"), else None."""
    if not text or len(text) > 20:
        return None
    match = _TYPED_NUMBER.fullmatch(normalize(text).strip(" .!?"))
    return int(match.group(1)) if match else None


def typed_after_ask(tracker: Tracker) -> int | None:
    """The option a typed number names, only when the bot's last reply was this conversation's "did you mean"."""
    if tracker.get_slot(DECISION_SLOT) != ASK or last_action_before_latest(tracker) != ACTION:
        return None
    return typed_choice(tracker.latest_message.get("text") or "")


def ask_text(topics: list[str], titles: dict[str, str]) -> str:
    """The "did you mean" message: the titles numbered, then how to choose."""
    lines = [f"{n}. {titles[t]}" for n, t in enumerate(topics, start=1)]
    return "\n".join([ASK_HEAD, *lines, "", ASK_TAIL])


def ask_buttons(topics: list[str]) -> list[dict[str, str]]:
    """Quick replies "1" … "N" and "Hỏi tư vấn viên" (every title within Messenger's 20 characters)."""
    return [*({"title": str(n), "payload": f"/{CHOICE_INTENT.format(n)}"} for n in range(1, len(topics) + 1)),
            dict(COUNSELOR_BUTTON)]


async def answer_choice(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                        number: int | None) -> List[EventType]:
    """The chosen topic's response `utter_faq/<topic>`, then what ActionOfferSupport adds (its own code).

    The options stay: the other buttons of the same question still answer; the next FAQ question replaces them.
    """
    options = offered(tracker)
    if number is None or not 1 <= number <= len(options):
        dispatcher.utter_message(text=CHOICE_GONE)
        return []
    dispatcher.utter_message(response=f"utter_{options[number - 1]}")
    return await ActionOfferSupport().run(dispatcher, tracker, domain)


async def not_on_file(dispatcher: CollectingDispatcher, tracker: Tracker, top: str | None,
                      confidence: float) -> List[EventType]:
    """Honest "not on file": whom to ask, the numbers; the question kept for staff (as ActionFallback does)."""
    rt = process_runtime()
    msg = tracker.latest_message
    kept = await keep_for_review(rt.store, tracker.sender_id, msg.get("text") or "", top or "faq", confidence,
                                 "not_on_file")
    province, events = province_of(tracker)
    head = f"{NOT_ON_FILE_HEAD} {NOT_ON_FILE_KEPT}" if kept is not None else NOT_ON_FILE_HEAD
    dispatcher.utter_message(text=f"{head}\n\n{NOT_ON_FILE_NUMBERS}\n{replies.hotline_block(rt.library, province)}")
    return [*events, SlotSet(OPTIONS_SLOT, None)]


class ActionAnswerFaq(Action):
    """An FAQ question: decide; the rules then send the answer (`utter_faq`, `action_offer_support`) or stop here.

    Sets `faq_decision` (the rules branch on it): `answer` (nothing sent here: the rule's `utter_faq` answers, as
    before), `ask` ("did you mean" sent), `not_on_file` (sent, and kept for review), `chosen` (a typed number
    right after "did you mean" that the NLU read as a question: that option's answer sent).
    """

    def name(self) -> Text:
        return ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        number = typed_after_ask(tracker)
        if number is not None:
            return [*await answer_choice(dispatcher, tracker, domain, number), SlotSet(DECISION_SLOT, CHOSEN)]
        choice = decide(tracker.latest_message)
        if choice.kind == ANSWER and choice.topic:
            return [SlotSet(DECISION_SLOT, ANSWER), SlotSet(OPTIONS_SLOT, None)]
        titles = TITLES.get()
        topics = [t for t in choice.topics if titles.get(t)]  # a topic without a title on file is not offered
        if choice.kind == ASK and topics:
            dispatcher.utter_message(text=ask_text(topics, titles), buttons=ask_buttons(topics))
            return [SlotSet(DECISION_SLOT, ASK), SlotSet(OPTIONS_SLOT, topics)]
        events = await not_on_file(dispatcher, tracker, choice.topic, choice.confidence)
        return [*events, SlotSet(DECISION_SLOT, NOT_ON_FILE)]


class ActionFaqChoice(Action):
    """An option of "did you mean": a button (`/choose_option_N`), or a typed number the NLU did not understand.

    Reached by a button at any time (the options are this conversation's slot), or by `nlu_fallback` /
    `out_of_scope` right after "did you mean": what is not an option number is answered as action_fallback does.
    """

    def name(self) -> Text:
        return CHOICE_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in CHOICE_INTENTS:
            return await answer_choice(dispatcher, tracker, domain, CHOICE_INTENTS[intent])
        number = typed_after_ask(tracker)
        if number is not None:
            return await answer_choice(dispatcher, tracker, domain, number)
        return await ActionFallback().run(dispatcher, tracker, domain)
