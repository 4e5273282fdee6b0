"""FAQ honest when unsure: the decision over the parse, "did you mean", the choice, and "not on file"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.events import SlotSet
from sqlalchemy import select

from actions.faq import (
    ASK_HEAD,
    BUTTON_TITLE_MAX,
    CHOICE_GONE,
    DECISION_SLOT,
    NOT_ON_FILE_HEAD,
    NOT_ON_FILE_KEPT,
    OPTIONS_SLOT,
    TITLES,
    ActionAnswerFaq,
    ActionFaqChoice,
    typed_choice,
)
from bot.config import ROOT
from bot.db.engine import session_factory
from bot.nlu import faq_choice
from bot.nlu.faq_choice import ANSWER, ASK, NOT_ON_FILE, Choice, Thresholds
from bot.replies import COUNSELOR
from bot.review_queue import ReviewItem
from bot.triage.policy import URGENT
from bot.triage.policy import decide as triage_decide
from tests.actions.conftest import make_tracker

PENALTIES, PHYSICAL, REPORT = "faq/dv_penalties", "faq/violence_physical", "faq/where_to_report"
# The decision's logic is tested with these limits; the calibrated ones in service are checked apart.
LIMITS = Thresholds(not_on_file_below=0.40, answer_from=0.70, answer_margin=0.25, intent_sure=0.60, option_min=0.05)


def decide(parse_: dict[str, Any]) -> Choice:
    """The decision under the test limits."""
    return faq_choice.decide(parse_, LIMITS)


def offered_topics(parse_: dict[str, Any]) -> list[str] | None:
    """The evaluation hook under the test limits."""
    return faq_choice.offered_topics(parse_, LIMITS)


def parse(*ranking: tuple[str, float], intent: str = "faq", intent_confidence: float = 0.95,
          text: str = "hỏi") -> dict[str, Any]:
    """A parse as Rasa returns it for a message classified `intent`, with the ResponseSelector's ranking."""
    entries = [{"intent_response_key": key, "confidence": c} for key, c in ranking]
    top = entries[0] if entries else {}
    response = {"intent_response_key": top.get("intent_response_key"), "confidence": top.get("confidence"),
                "utter_action": f"utter_{top.get('intent_response_key')}"} if entries else {}
    return {"text": text, "intent": {"name": intent, "confidence": intent_confidence},
            "response_selector": {"faq": {"response": response, "ranking": entries}}}


# --- the decision ------------------------------------------------------------------------------------------------

def test_a_clear_winner_is_answered():
    assert decide(parse((PENALTIES, 0.93), (PHYSICAL, 0.03), (REPORT, 0.01))) == Choice(ANSWER, (PENALTIES,), 0.93)


def test_a_close_pair_is_asked_about_with_both_topics():
    choice = decide(parse((PENALTIES, 0.48), (PHYSICAL, 0.42), (REPORT, 0.02)))
    assert choice.kind == ASK and choice.topics == (PENALTIES, PHYSICAL)


def test_a_third_topic_is_offered_when_it_is_a_real_candidate():
    assert decide(parse((PENALTIES, 0.5), (PHYSICAL, 0.3), (REPORT, 0.15))).topics == (PENALTIES, PHYSICAL, REPORT)


def test_a_top_that_is_ahead_but_not_sure_is_asked_about():
    assert decide(parse((PENALTIES, 0.6), (PHYSICAL, 0.05))).kind == ASK


def test_a_low_top_is_not_on_file():
    choice = decide(parse((PENALTIES, LIMITS.not_on_file_below - 0.01), (PHYSICAL, 0.2)))
    assert choice.kind == NOT_ON_FILE and choice.topics == ()


@pytest.mark.parametrize("broken", [{}, {"response_selector": {}}, {"response_selector": {"faq": {"ranking": []}}},
                                    {"response_selector": {"faq": {"ranking": "x"}}}, {"response_selector": None},
                                    parse(), {"response_selector": {"faq": {"ranking": [{"confidence": "?"}]}}}])
def test_no_ranking_is_not_on_file_and_never_raises(broken):
    assert decide(broken).kind == NOT_ON_FILE


def test_the_ranking_is_read_best_first_and_only_faq_topics_count():
    mixed = parse(("report_violence", 0.99), (PHYSICAL, 0.04), (PENALTIES, 0.94), ("faq/", 0.5), ("faq_x", 0.9))
    assert decide(mixed) == Choice(ANSWER, (PENALTIES,), 0.94)


def test_an_unsure_classifier_asks_even_when_the_topic_is_clear():
    assert decide(parse((PENALTIES, 0.95), (PHYSICAL, 0.02), intent_confidence=0.5)).kind == ASK


def test_the_response_alone_is_read_when_there_is_no_ranking():
    only = {"intent": {"name": "faq", "confidence": 0.99},
            "response_selector": {"faq": {"response": {"intent_response_key": PENALTIES, "confidence": 0.97}}}}
    assert decide(only) == Choice(ANSWER, (PENALTIES,), 0.97)


def test_the_evaluation_hook_names_the_offered_topics_and_nothing_when_it_answers():
    assert offered_topics(parse((PENALTIES, 0.93), (PHYSICAL, 0.03))) is None
    assert offered_topics(parse((PENALTIES, 0.48), (PHYSICAL, 0.42))) == [PENALTIES, PHYSICAL]
    assert offered_topics(parse((PENALTIES, 0.1), (PHYSICAL, 0.08))) == []
    assert offered_topics(parse((PENALTIES, 0.1), intent="ask_hotline")) is None  # its own rule answers


# --- the actions -------------------------------------------------------------------------------------------------

def after_ask(text: str, intent: str, options: list[str], confidence: float = 0.45) -> Any:
    """A tracker whose bot's last reply was "did you mean" with `options`, then the resident sent `text`."""
    events = [{"event": "user", "text": "đánh nhau thì sao", "parse_data": {"intent": {"name": "faq"}}},
              {"event": "action", "name": "action_answer_faq"},
              {"event": "slot", "name": DECISION_SLOT, "value": ASK},
              {"event": "slot", "name": OPTIONS_SLOT, "value": options},
              {"event": "bot", "text": ASK_HEAD},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}]
    return make_tracker(text, intent, confidence, slots={DECISION_SLOT: ASK, OPTIONS_SLOT: options}, events=events,
                        message_id="mid-2")


async def test_a_clear_answer_is_left_to_the_rule_s_utter_faq(dispatcher, domain, services):
    tracker = make_tracker("bạo lực gia đình bị phạt thế nào", "faq", parse_data=parse((PENALTIES, 0.93)))
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert events == [SlotSet(DECISION_SLOT, ANSWER), SlotSet(OPTIONS_SLOT, None)]
    assert dispatcher.messages == []


async def test_did_you_mean_lists_the_titles_with_short_buttons_and_the_counselor(dispatcher, domain, services):
    tracker = make_tracker("đánh nhau thì sao", "faq", parse_data=parse((PENALTIES, 0.5), (PHYSICAL, 0.4)))
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert events == [SlotSet(DECISION_SLOT, ASK), SlotSet(OPTIONS_SLOT, [PENALTIES, PHYSICAL])]
    [message] = dispatcher.messages
    titles = TITLES.get()
    assert message["text"].startswith(ASK_HEAD)
    assert f"1. {titles[PENALTIES]}" in message["text"] and f"2. {titles[PHYSICAL]}" in message["text"]
    assert message["buttons"] == [{"title": "1", "payload": "/choose_option_1"},
                                  {"title": "2", "payload": "/choose_option_2"},
                                  {"title": "Hỏi tư vấn viên", "payload": COUNSELOR}]
    assert all(len(b["title"]) <= BUTTON_TITLE_MAX for b in message["buttons"])


async def test_only_faq_topics_with_a_title_are_offered(dispatcher, domain, services):
    parsed = parse((PENALTIES, 0.5), ("faq/no_such_topic", 0.4), (PHYSICAL, 0.3))
    events = await ActionAnswerFaq().run(dispatcher, make_tracker("hỏi", "faq", parse_data=parsed), domain)
    assert SlotSet(OPTIONS_SLOT, [PENALTIES, PHYSICAL]) in events


async def test_a_button_gets_the_chosen_topic_s_answer(dispatcher, domain, services):
    tracker = after_ask("/choose_option_2", "choose_option_2", [PENALTIES, PHYSICAL])
    await ActionFaqChoice().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_faq/violence_physical"


@pytest.mark.parametrize("typed", ["2", "số 2", "chon 2 nhe", " 2. "])
async def test_a_typed_number_right_after_the_question_gets_that_answer(dispatcher, domain, services, typed):
    tracker = after_ask(typed, "nlu_fallback", [PENALTIES, PHYSICAL, REPORT])
    await ActionFaqChoice().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_faq/violence_physical"


async def test_a_typed_number_the_nlu_read_as_a_question_is_still_the_choice(dispatcher, domain, services):
    tracker = after_ask("1", "faq", [PENALTIES, PHYSICAL], confidence=0.6)
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_faq/dv_penalties"
    assert events[-1] == SlotSet(DECISION_SLOT, "chosen")


async def test_a_number_with_no_question_before_is_a_plain_fallback(dispatcher, domain, services):
    tracker = make_tracker("2", "nlu_fallback", 0.3, slots={DECISION_SLOT: ASK, OPTIONS_SLOT: [PENALTIES, PHYSICAL]})
    await ActionFaqChoice().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert "chưa hiểu" in message["text"]


async def test_words_after_the_question_are_answered_as_the_fallback_does(dispatcher, domain, services):
    await ActionFaqChoice().run(dispatcher, after_ask("ờ thì", "nlu_fallback", [PENALTIES, PHYSICAL]), domain)
    assert "chưa hiểu" in dispatcher.messages[0]["text"]


async def test_an_option_that_was_not_offered_is_not_answered(dispatcher, domain, services):
    await ActionFaqChoice().run(dispatcher, after_ask("/choose_option_3", "choose_option_3", [PENALTIES, PHYSICAL]),
                                domain)
    assert [m["text"] for m in dispatcher.messages] == [CHOICE_GONE]
    dispatcher.messages.clear()
    await ActionFaqChoice().run(dispatcher, make_tracker("/choose_option_1", "choose_option_1"), domain)
    assert [m["text"] for m in dispatcher.messages] == [CHOICE_GONE]


def test_typed_choices_are_only_short_numbers():
    assert [typed_choice(t) for t in ("1", "Số 3", "câu 2 ạ", "2 người", "12", "", "chồng đánh 2 lần")] == \
        [1, 3, 2, None, None, None, None]


async def test_not_on_file_says_so_names_whom_to_ask_and_keeps_the_question(dispatcher, domain, services):
    text = "xã mình năm nay có tổ chức diễn đàn không"
    tracker = make_tracker(text, "faq", 0.9, sender="telegram:99",
                           parse_data=parse((PENALTIES, 0.1), (REPORT, 0.09), text=text))
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert events[-2:] == [SlotSet(OPTIONS_SLOT, None), SlotSet(DECISION_SLOT, NOT_ON_FILE)]
    [message] = dispatcher.messages
    assert message["text"].startswith(f"{NOT_ON_FILE_HEAD} {NOT_ON_FILE_KEPT}")
    assert "Hội Liên hiệp Phụ nữ" in message["text"] and "Ủy ban nhân dân xã, phường" in message["text"]
    for number in ("113", "1900969680"):
        assert number in message["text"]
    assert "buttons" not in message or not message["buttons"]
    with session_factory(services.store.engine)() as s:
        [item] = s.execute(select(ReviewItem)).scalars().all()
    assert (item.text, item.reason, item.sender_id) == (text, "not_on_file", "telegram:99")


async def test_not_on_file_still_answers_when_the_review_queue_is_down(dispatcher, domain, services, monkeypatch):
    def down(*_a, **_k):
        raise RuntimeError("database down")

    monkeypatch.setattr("bot.review_queue.record_unanswered", down)
    tracker = make_tracker("ubnd phường làm việc mấy giờ", "faq", parse_data=parse((PENALTIES, 0.1)))
    await ActionAnswerFaq().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["text"].startswith(NOT_ON_FILE_HEAD) and NOT_ON_FILE_KEPT not in message["text"]


# --- safety: urgent messages never get here ----------------------------------------------------------------------

def _rules() -> list[dict[str, Any]]:
    found = []
    for path in sorted(Path(ROOT, "data", "rules").glob("*.yml")):
        found += yaml.safe_load(path.read_text(encoding="utf-8")).get("rules") or []
    return found


def test_only_faq_choice_and_not_understood_intents_lead_to_these_actions():
    allowed = {"faq", "choose_option_1", "choose_option_2", "choose_option_3", "nlu_fallback", "out_of_scope"}
    for rule in _rules():
        steps = rule["steps"]
        for i, step in enumerate(steps):
            if step.get("action") in ("action_answer_faq", "action_faq_choice") and i > 0:
                before = [s["intent"] for s in steps[:i] if "intent" in s]
                if before:
                    assert before[-1] in allowed, rule["rule"]


def test_an_urgent_question_is_routed_to_triage_before_any_faq_rule():
    decision = triage_decide("chồng tôi đang đánh tôi, bạo lực gia đình bị phạt thế nào", "faq", 0.9,
                             [{"name": "faq", "confidence": 0.9}])
    assert decision.band == URGENT
