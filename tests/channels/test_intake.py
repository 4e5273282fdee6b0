"""A resident's input before it enters the inbox or Rasa: cut to the bound, read as words, not as `/intent{…}`."""

from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.intake import (
    CUT_MARK,
    bound_text,
    button_payload,
    clean,
    clean_data,
    epoch_seconds,
    is_fresh,
    neutralise,
)
from bot.channels.items import TEXT, WELCOME
from bot.channels.messenger import parse_messenger_body
from bot.channels.telegram import parse_telegram_update
from bot.channels.zalo import parse_zalo_event
from bot.text import MAX_MESSAGE_CHARS
from bot.triage import assess

INJECTIONS = ['/report_violence{"province": "Hà Nội"}', "/affirm", "  /deny", "//greet", "/ /restart",
              "\n/inform@0.99{\"x\": 1}"]


# ---- the bound ---------------------------------------------------------------------------------------

def test_short_text_is_kept_as_is() -> None:
    assert bound_text("xin chào") == "xin chào" and bound_text("a" * MAX_MESSAGE_CHARS) == "a" * MAX_MESSAGE_CHARS


def test_long_text_keeps_its_beginning_and_its_end() -> None:
    text = "đầu câu chuyện " + "x" * 50_000 + " cứu tôi với"
    cut = bound_text(text)
    assert len(cut) <= MAX_MESSAGE_CHARS and CUT_MARK in cut
    assert cut.startswith("đầu câu chuyện") and cut.endswith("cứu tôi với")


def test_danger_words_at_the_end_of_a_long_story_stay_urgent() -> None:
    story = "hom nay toi di cho mua rau. " * 40_000 + "chồng tôi đang cầm dao đòi giết tôi"
    assert not assess("hom nay toi di cho mua rau. " * 50).urgent
    assert assess(bound_text(story)).urgent


def test_a_letter_keeps_its_accents_at_the_cut() -> None:
    decomposed = unicodedata.normalize("NFD", "ệ") * 5000   # e + two combining marks, each
    cut = bound_text(decomposed)
    head, tail = cut.split(CUT_MARK)
    assert not unicodedata.combining(tail[0]) and len(cut) <= MAX_MESSAGE_CHARS
    assert unicodedata.normalize("NFC", head) == "ệ" * (len(head) // 3)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=9000), st.integers(min_value=0, max_value=9000))
def test_bound_never_exceeds_and_never_raises(text: str, limit: int) -> None:
    cut = bound_text(text, limit)
    assert len(cut) <= limit
    assert cut == text or len(text) > limit


def test_bound_is_fast_on_a_megabyte() -> None:
    began = time.perf_counter()
    bound_text("\u0301" * 1_000_000)   # nothing but combining marks: the cut must still end
    bound_text("a" * 1_000_000)
    assert time.perf_counter() - began < 1.0


# ---- words, not intents ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", INJECTIONS)
def test_typed_slash_text_becomes_words(typed: str) -> None:
    assert not neutralise(typed).lstrip().startswith("/")


def test_ordinary_text_is_untouched() -> None:
    for text in ("xin chào", "1/2 số tiền", "  cứu  ", "a/b"):
        assert neutralise(text) == text


@pytest.mark.parametrize("payload, expected", [("/affirm", "/affirm"), ("/ask_events", "/ask_events"),
                                               ('/affirm{"x": 1}', 'affirm{"x": 1}'), ("/restart", "restart"),
                                               ("/session_start", "session_start"), ("/x@0.9", "x@0.9"),
                                               ("Có", "Có")])
def test_a_button_payload_is_a_bare_intent_or_words(payload: str, expected: str) -> None:
    assert button_payload(payload) == expected


def zalo_text(text: str) -> dict:
    return {"app_id": "a", "event_name": "user_send_text", "timestamp": "1", "sender": {"id": "u1"},
            "message": {"msg_id": "m1", "text": text}}


@pytest.mark.parametrize("typed", INJECTIONS)
def test_zalo_text_is_read_as_words(typed: str) -> None:
    (item,) = parse_zalo_event(zalo_text(typed)).items
    assert item.kind == TEXT and not item.text.lstrip().startswith("/")


def messenger(event: dict) -> dict:
    return {"object": "page", "entry": [{"id": "p", "time": 1, "messaging": [event]}]}


@pytest.mark.parametrize("typed", INJECTIONS)
def test_messenger_text_is_read_as_words(typed: str) -> None:
    event = {"sender": {"id": "p1"}, "message": {"mid": "m1", "text": typed}}
    (item,) = parse_messenger_body(messenger(event)).items
    assert item.kind == TEXT and not item.text.lstrip().startswith("/")


def test_messenger_payloads_the_page_set_up_still_work() -> None:
    quick = {"sender": {"id": "p1"}, "message": {"mid": "m2", "text": "Có", "quick_reply": {"payload": "/affirm"}}}
    forged = {"sender": {"id": "p1"}, "postback": {"mid": "m3", "payload": '/inform{"province": "x"}'}}
    menu = {"sender": {"id": "p1"}, "postback": {"mid": "m4", "payload": "HOTLINE"}}
    start = {"sender": {"id": "p1"}, "postback": {"mid": "m5", "payload": "GET_STARTED"}}
    items = parse_messenger_body(messenger(quick)).items + parse_messenger_body(messenger(forged)).items \
        + parse_messenger_body(messenger(menu)).items + parse_messenger_body(messenger(start)).items
    assert [i.text for i in items[:3]] == ["/affirm", 'inform{"province": "x"}', "/ask_hotline"]
    assert items[3].kind == WELCOME


def telegram_text(text: str, update_id: int = 1) -> dict:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 1, "text": text,
                                                "chat": {"id": 5, "type": "private", "first_name": "A"}}}


@pytest.mark.parametrize("typed", INJECTIONS)
def test_telegram_text_and_unknown_commands_are_read_as_words(typed: str) -> None:
    (item,) = parse_telegram_update(telegram_text(typed)).items
    assert item.kind == TEXT and not (item.text or "").lstrip().startswith("/")


def test_telegram_keeps_its_documented_commands() -> None:
    (start,) = parse_telegram_update(telegram_text("/start")).items
    (delete,) = parse_telegram_update(telegram_text(" /xoa@resident_bot")).items
    assert start.kind == WELCOME and delete.text == "xóa dữ liệu của tôi"


def test_telegram_button_data_is_a_bare_intent_or_words() -> None:
    def press(data: str) -> str:
        update = {"update_id": 9, "callback_query": {"id": "q", "from": {"id": 5, "is_bot": False, "first_name": "A"},
                                                     "chat_instance": "c", "data": data}}
        (item,) = parse_telegram_update(update).items
        return item.text or ""

    assert press("/affirm") == "/affirm"
    assert press('/affirm{"slot": "x"}') == 'affirm{"slot": "x"}' and press("/restart") == "restart"


# ---- the replay window's clock -----------------------------------------------------------------------

def test_platform_times_and_the_window() -> None:
    assert epoch_seconds("1700000000000") == 1_700_000_000.0 and epoch_seconds(1_700_000_000_000) == 1_700_000_000.0
    assert epoch_seconds("") is None and epoch_seconds("12a") is None and epoch_seconds(True) is None
    assert epoch_seconds("٣") is None and epoch_seconds(None) is None and epoch_seconds("9" * 40) is None
    assert is_fresh(100.0, 150.0, 60) and is_fresh(200.0, 150.0, 60)
    assert not is_fresh(10.0, 150.0, 60) and not is_fresh(None, 150.0, 60)


def test_clean_makes_lone_surrogates_and_nul_storable_and_keeps_the_rest() -> None:
    assert clean("cứu \ud83d tôi\x00") == "cứu \ufffd tôi\ufffd"
    assert clean("chồng tôi 😡") == "chồng tôi 😡"
    clean("\ud800 x").encode("utf-8")  # would raise UnicodeEncodeError before cleaning
    assert clean_data({"a\ud800": ["\x00", 1, {"b": "\udfff"}]}) == {"a\ufffd": ["\ufffd", 1, {"b": "\ufffd"}]}
