"""bot.triage.english: English danger/support rules, with negation, general questions, jokes and the past not urgent."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from bot.language import detect_language
from bot.replies_en import info_reply_en, safety_check_en, urgent_reply_en
from bot.triage.english import assess_english
from bot.triage.levels import DANGER_NOW, NEEDS_SUPPORT, NONE, TriageResult

ROOT = Path(__file__).resolve().parents[1]

DANGER = [
    ("help me", "kêu cứu"), ("Please help, he is hitting me right now", "đang bị tấn công"),
    ("someone help!!", "kêu cứu"), ("my husband is beating me", "đang bị tấn công"),
    ("I'm being attacked", "đang bị tấn công"), ("he has a knife", "có vũ khí"),
    ("my husband is drunk and holding a knife", "có vũ khí"), ("he put a gun to my head", "có vũ khí"),
    ("he threatened to kill me", "đe dọa giết/gây thương tích"), ("he says he will kill us", "đe dọa giết/gây thương tích"),
    ("my husband's going to kill me", "đe dọa giết/gây thương tích"),
    ("he locked me in the room", "bị giam giữ/mua bán người"),
    ("I'm trapped, they won't let me leave", "bị giam giữ/mua bán người"),
    ("I want to die", "nguy cơ tự hại"), ("I'm going to kill myself tonight", "nguy cơ tự hại"),
    ("my friend says she is suicidal", "nguy cơ tự hại"),
    ("he beat me last night and I am bleeding", "thương tích nặng"),
    ("the neighbour's child is being beaten right now", "dấu hiệu đang xảy ra"),
    ("he is breaking down the door", "đang bị tấn công"),
    ("I am being held against my will", "bị giam giữ/mua bán người"),
    ("my friend cut herself again", "nguy cơ tự hại"), ("my sister says she wants to kill herself", "nguy cơ tự hại"),
    ("my neighbour is beating his wife right now", "người khác đang bị tấn công"),
]
SUPPORT = [
    ("My husband hit me again", "bị bạo lực/xâm hại"), ("my boyfriend slapped me yesterday", "bị bạo lực/xâm hại"),
    ("I am being abused by my husband", "bị bạo lực/xâm hại"), ("my husband is abusive", "bị bạo lực/xâm hại"),
    ("my father beats me because I am gay", "bị bạo lực/xâm hại"),
    ("my son hits me and takes my pension", "người cao tuổi bị con cháu ngược đãi"),
    ("my husband forces me to have sex", "xâm hại tình dục"),
    ("my parents are forcing me to marry a man I don't know", "cưỡng ép kết hôn"),
    ("my employer took my passport and doesn't pay me", "lao động/giúp việc bị giữ giấy tờ, quỵt lương, giam giữ"),
    ("my husband controls all the money", "bị kiểm soát/đe dọa"),
    ("he won't let me see my friends", "bị kiểm soát/đe dọa"),
    ("my boss keeps touching me at work", "quấy rối tình dục nơi làm việc/trường học"),
    ("my shift manager groped me in front of the team", "quấy rối tình dục nơi làm việc/trường học"),
    ("someone is threatening to post my nude photos unless I pay", "tống tiền/phát tán ảnh riêng tư, deepfake"),
    ("a guy made a deepfake of me", "tống tiền/phát tán ảnh riêng tư, deepfake"),
    ("my ex is stalking me", "theo dõi/rình rập, lộ thông tin cá nhân"),
    ("I'm being stalked", "theo dõi/rình rập, lộ thông tin cá nhân"),
    ("my neighbour's kid is beaten every day", "trẻ em bị bạo hành"),
    ("my son is addicted to games and hits me", "bị bạo lực/xâm hại"),
    ("my husband comes home drunk and beats me", "bị bạo lực/xâm hại"),
    ("I think my neighbour is abusing his wife", "bị bạo lực/xâm hại"),
    ("they said they will share my nude photos", "tống tiền/phát tán ảnh riêng tư, deepfake"),
    ("my husband insults and humiliates me every day", "bị bạo lực/xâm hại"),
    ("he yells at me all the time and I'm scared", "bị bạo lực/xâm hại"),
    ("my friend is being abused by her husband", "bị bạo lực/xâm hại"),
    ("my sister is beaten by her husband", "bị bạo lực/xâm hại"), ("I was sexually assaulted", "xâm hại tình dục"),
    ("my husband took all my money and my phone", "bị kiểm soát/đe dọa"),
    ("my grandson hits me and takes my pension", "người cao tuổi bị con cháu ngược đãi"),
    ("my parents want to send me to conversion therapy", "bạo lực vì là LGBT"),
    ("my father beats me because I am gay", "bạo lực vì là LGBT"),
    ("my 14 year old daughter is being married off", "tảo hôn"),
    ("they are marrying off my 15 year old sister next month", "tảo hôn"),
    ("the family I work for does not pay my wages", "lao động/giúp việc bị giữ giấy tờ, quỵt lương, giam giữ"),
    ("my neighbours leave their kids alone for days without food", "trẻ em bị bỏ mặc"),
    ("someone posted my address and phone number online", "theo dõi/rình rập, lộ thông tin cá nhân"),
    ("my ex beat me years ago but now he keeps texting me", "bị bạo lực/xâm hại"),
]
CALM = [
    "he never hit me", "he has a temper and smashes things but he has never hit me", "my husband doesn't hit me",
    "what is domestic violence", "domestic violence statistics in Vietnam", "is it illegal to hit your wife",
    "how can parents protect children online", "what does the law say about sexual harassment at work",
    "in the movie he kills his wife", "I'm writing an essay about forced marriage",
    "my mom is going to kill me if I fail the exam", "my sister will kill me lol", "he beat me at chess haha",
    "my father abused me when I was a child, he passed away 20 years ago",
    "can you help me understand the law", "help me find the campaign theme", "what are your working hours",
    "hello", "thank you", "I'm afraid of my husband", "he is doing it again",
    "women who are abused can call the hotline", "what if someone threatens to post photos",
    "I killed it at work today", "this traffic is killing me", "he has never once hit me",
    "I beat my brother at chess", "my son hit me with a ball by accident", "she accidentally hit me with the door", "my husband would never hurt me", "my mom yells at me to clean my room",
]


@pytest.mark.parametrize(("text", "reason"), DANGER)
def test_danger_now(text: str, reason: str) -> None:
    result = assess_english(text)
    assert result.urgency == DANGER_NOW
    assert reason in result.reasons


@pytest.mark.parametrize(("text", "reason"), SUPPORT)
def test_needs_support(text: str, reason: str) -> None:
    result = assess_english(text)
    assert result.urgency == NEEDS_SUPPORT
    assert reason in result.reasons


@pytest.mark.parametrize("text", CALM)
def test_not_urgent(text: str) -> None:
    assert assess_english(text).urgency == NONE


def test_reasons_are_vietnamese() -> None:
    for text, _ in DANGER + SUPPORT:
        for reason in assess_english(text).reasons:
            assert re.search(r"[à-ỹđ]", reason), reason


def _training_texts() -> list[str]:
    out = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []) or []:
            for line in (item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    out.append(re.sub(r"\[([^\]]*)\][({][^)}]*[)}]", r"\1", line[2:]))
    return out


def test_no_hit_on_vietnamese_training_data() -> None:
    """The English rules never fire on the Vietnamese training examples (with or without diacritics)."""
    vietnamese = [t for t in _training_texts() if detect_language(t) == "vi"]
    assert len(vietnamese) > 3000
    assert [t for t in vietnamese if assess_english(t).urgent] == []


@pytest.mark.parametrize("text", ["Chồng tôi đánh tôi", "ck e dang danh e", "cuu em voi", "me oi cuu con",
                                  "toi muon chet", "ong ay cam dao doa giet me con toi", "bo em hit thuoc"])
def test_vietnamese_urgent_text_is_left_to_the_vietnamese_rules(text: str) -> None:
    assert assess_english(text).urgency == NONE


@pytest.mark.parametrize("text", ["help me " * 700, "my husband " * 800 + "!", "a" * 5000, "he " * 2000 + "hit", "my son " * 800,
                                  "my " * 2500, "is " * 2500 + "hitting"])
def test_long_input_runs_in_linear_time(text: str) -> None:
    start = time.perf_counter()
    assess_english(text)
    assert time.perf_counter() - start < 0.5


def test_empty() -> None:
    assert assess_english("").urgency == NONE
    assert assess_english("😂").urgency == NONE


# --- English replies (bot/replies_en.py) ---------------------------------------------------------------------------

EMERGENCY = ("113", "115", "111")


def test_urgent_reply_en_danger_recorded(library) -> None:
    reply = urgent_reply_en(TriageResult(DANGER_NOW, ("kêu cứu",)), library, None, 12, True)
    for number in (*EMERGENCY, "1900969680", "18001768"):
        assert number in reply
    assert "#12" in reply and "counselor" in reply and "Vietnamese" in reply
    assert "call 113" in reply and "not your fault" not in reply
    assert not re.search(r"[ạ-ỹ]", reply.split("Numbers you can call now:")[0])  # the opening is plain English


def test_urgent_reply_en_support_not_recorded(library) -> None:
    reply = urgent_reply_en(TriageResult(NEEDS_SUPPORT, ("bị bạo lực/xâm hại",)), library, None, None, False)
    assert "not your fault" in reply and "technical problem" in reply and "#" not in reply
    for number in EMERGENCY:
        assert number in reply


def test_urgent_reply_en_names_the_province_line(library) -> None:
    reply = urgent_reply_en(TriageResult(NEEDS_SUPPORT, ()), library, library.provinces.find("Sóc Trăng"), 3, True)
    assert "Counseling line in Sóc Trăng: 0377672444" in reply and "National counseling line (24/7): 1900969680" in reply
    other = urgent_reply_en(TriageResult(NEEDS_SUPPORT, ()), library, library.provinces.find("Hà Giang"), 3, True)
    assert "0377672444" not in other
    assert "Hà Giang (now part of Tuyên Quang) has no counseling line of its own" in other


def test_safety_check_en_asks_and_gives_numbers(library) -> None:
    reply = safety_check_en(library, None)
    assert "in danger right now" in reply and "counselor" in reply
    for number in (*EMERGENCY, "1900969680"):
        assert number in reply


def test_info_reply_en_explains_the_bot_and_the_counselor(library) -> None:
    reply = info_reply_en(library, None)
    assert "Women's Union" in reply and 'write "counselor"' in reply and "Vietnamese" in reply
    for number in (*EMERGENCY, "1900969680"):
        assert number in reply
