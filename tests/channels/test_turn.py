"""decide_turn, branch by branch, with fakes: no Sanic, no database, no Rasa."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.channels.items import ATTACHMENT, NOOP, TEXT, UNFOLLOW, WELCOME, BotReply, Item, Part
from bot.channels.safety_net import safety_reply
from bot.channels.turn import GREET_PAYLOAD, MAX_ATTEMPTS, decide_turn, forwarded_note
from bot.content.library import Library
from bot.replies import SAFETY_CONFIRMED_REASON, WELCOME_FALLBACK
from bot.triage import DANGER_NOW, TriageResult

URGENT = "chồng tôi đang đánh tôi, cứu tôi với"
CALM = "tháng hành động năm nay diễn ra khi nào?"
SAFETY_TEXT = "Các số có thể gọi ngay: 113"


@dataclass
class FakeIO:
    """Records every call; answers as configured."""

    library: Library
    owner: int | None = None
    existing_cases: set[str] = field(default_factory=set)
    forward_fails: bool = False
    forwarded: list[tuple[int, str]] = field(default_factory=list)
    nets: list[tuple[str, str, TriageResult]] = field(default_factory=list)

    async def human_owner(self, sender_id: str) -> int | None:
        return self.owner

    async def forward(self, case_id: int, note: str) -> None:
        if self.forward_fails:
            raise RuntimeError("database down")
        self.forwarded.append((case_id, note))

    async def case_exists(self, message_id: str) -> bool:
        return message_id in self.existing_cases

    async def safety_net(self, item: Item, text: str, verdict: TriageResult) -> tuple[Part, ...]:
        self.nets.append((item.key, text, verdict))
        return ((SAFETY_TEXT, None),)


@dataclass
class FakeBot:
    """A run_bot that returns a fixed reply and records what it was asked."""

    reply: BotReply = field(default_factory=BotReply)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, item: Item, text: str) -> BotReply:
        self.asked.append(text)
        return self.reply


def item(text: str | None = CALM, kind: str = TEXT, attempts: int = 1, **data: str) -> Item:
    return Item(key="zalo:m1", channel="zalo", sender_id="zalo:u1", kind=kind, text=text, data=dict(data),
                row_id=1, attempts=attempts)


@pytest.fixture
def io(library) -> FakeIO:
    return FakeIO(library)


ANSWER = (("Tháng hành động diễn ra từ 15/11 đến 15/12.", None),)


async def test_a_plain_answer_is_sent_as_the_bot_said_it(io) -> None:
    bot = FakeBot(BotReply(ANSWER))
    turn = await decide_turn(item(), bot, io)
    assert (turn.parts, turn.urgent, turn.outcome) == (ANSWER, False, "bot")
    assert bot.asked == [CALM] and io.nets == []


@pytest.mark.parametrize("failed", ["timeout", "RuntimeError"])
async def test_urgent_and_the_assistant_failed_gets_the_safety_net(io, failed) -> None:
    turn = await decide_turn(item(URGENT), FakeBot(BotReply(failed=failed)), io)
    assert (turn.parts, turn.urgent, turn.outcome) == (((SAFETY_TEXT, None),), True, "safety_net")
    ((key, text, verdict),) = io.nets
    assert (key, text, verdict.urgency) == ("zalo:m1", URGENT, DANGER_NOW)


async def test_urgent_and_the_assistant_silent_gets_the_safety_net(io) -> None:
    turn = await decide_turn(item(URGENT), FakeBot(BotReply()), io)
    assert turn.outcome == "safety_net" and len(io.nets) == 1


async def test_urgent_answer_without_a_case_gets_the_safety_net_after_it(io) -> None:
    faq = (("Khi đang có nguy hiểm, hãy gọi ngay 113 (công an).", None),)  # the numbers, but no case
    turn = await decide_turn(item(URGENT), FakeBot(BotReply(faq)), io)
    assert turn.parts == faq + ((SAFETY_TEXT, None),) and turn.urgent and turn.outcome == "safety_net"
    assert len(io.nets) == 1


async def test_urgent_answer_with_the_case_marker_gets_no_safety_net(io) -> None:
    answer = (("Mình đã chuyển tin nhắn của bạn đến tư vấn viên (mã ca #7).", None),)
    turn = await decide_turn(item(URGENT), FakeBot(BotReply(answer, case_marked=True)), io)
    assert (turn.parts, turn.urgent, turn.outcome) == (answer, True, "bot")
    assert io.nets == []


async def test_urgent_answer_without_marker_but_with_a_case_row_gets_no_safety_net(io) -> None:
    io.existing_cases.add("zalo:m1")
    turn = await decide_turn(item(URGENT), FakeBot(BotReply(ANSWER)), io)
    assert turn.outcome == "bot" and turn.urgent and io.nets == []


async def test_a_case_row_without_any_reply_still_gets_the_numbers(io) -> None:
    io.existing_cases.add("zalo:m1")  # the action opened the case, then Rasa timed out before answering
    turn = await decide_turn(item(URGENT), FakeBot(BotReply(failed="timeout")), io)
    assert turn.outcome == "safety_net" and len(io.nets) == 1


async def test_non_urgent_failure_gets_an_apology_with_the_numbers(io) -> None:
    turn = await decide_turn(item(), FakeBot(BotReply(failed="timeout")), io)
    ((text, buttons),) = turn.parts
    assert "sự cố kỹ thuật" in text and "113" in text and buttons is None
    assert (turn.urgent, turn.outcome) == (False, "apology") and io.nets == []


async def test_non_urgent_silence_is_no_reply(io) -> None:
    turn = await decide_turn(item(), FakeBot(BotReply()), io)
    assert (turn.parts, turn.urgent, turn.outcome) == ((), False, "no_reply")


async def test_a_conversation_a_counselor_owns_is_forwarded_not_answered(io) -> None:
    io.owner = 12
    bot = FakeBot(BotReply(ANSWER))
    turn = await decide_turn(item(URGENT), bot, io)
    assert (turn.parts, turn.outcome) == ((), "handed_off")
    assert io.forwarded == [(12, URGENT)] and bot.asked == [] and io.nets == []


async def test_an_attachment_in_a_handed_off_conversation_is_forwarded_as_a_note(io) -> None:
    io.owner = 3
    await decide_turn(item(None, ATTACHMENT, attachment="image"), FakeBot(), io)
    assert io.forwarded == [(3, "[Người dân gửi hình ảnh]")]


async def test_a_forward_that_cannot_be_recorded_raises_so_the_event_is_retried(io) -> None:
    io.owner, io.forward_fails = 4, True
    with pytest.raises(RuntimeError):
        await decide_turn(item(), FakeBot(), io)


async def test_an_attachment_gets_the_text_only_reply_with_the_numbers(io) -> None:
    bot = FakeBot()
    turn = await decide_turn(item(None, ATTACHMENT, attachment="voice"), bot, io)
    ((text, _),) = turn.parts
    assert "tin nhắn thoại" in text and "113" in text and turn.outcome == "attachment"
    assert bot.asked == []


async def test_welcome_asks_the_assistant_to_greet(io) -> None:
    hello = (("Xin chào bạn!", None),)
    bot = FakeBot(BotReply(hello))
    turn = await decide_turn(item(None, WELCOME), bot, io)
    assert (turn.parts, turn.outcome) == (hello, "welcome") and bot.asked == [GREET_PAYLOAD]


async def test_welcome_without_the_assistant_uses_the_built_in_greeting(io) -> None:
    turn = await decide_turn(item(None, WELCOME), FakeBot(BotReply(failed="timeout")), io)
    assert turn.parts == ((WELCOME_FALLBACK, None),)


async def test_after_max_attempts_the_bot_is_not_asked_again(io) -> None:
    bot = FakeBot(BotReply(ANSWER))
    urgent = await decide_turn(item(URGENT, attempts=MAX_ATTEMPTS + 1), bot, io)
    calm = await decide_turn(item(CALM, attempts=MAX_ATTEMPTS + 1), bot, io)
    welcome = await decide_turn(item(None, WELCOME, attempts=MAX_ATTEMPTS + 1), bot, io)
    assert bot.asked == []
    assert urgent.outcome == "safety_net" and len(io.nets) == 1
    assert calm.outcome == "apology"
    assert welcome.parts == ((WELCOME_FALLBACK, None),)


@pytest.mark.parametrize("event", [item("   "), item(None), item(None, UNFOLLOW), item(None, NOOP)])
async def test_empty_text_unfollow_and_noop_finish_without_a_reply(io, event) -> None:
    io.owner = 9  # not even the hand-off is consulted
    bot = FakeBot(BotReply(ANSWER))
    turn = await decide_turn(event, bot, io)
    assert turn.parts == () and not turn.urgent and turn.outcome == event.kind
    assert bot.asked == [] and io.forwarded == [] and io.nets == []


def test_forwarded_note_names_the_attachment() -> None:
    assert forwarded_note(item(None, ATTACHMENT, attachment="sticker")) == "[Người dân gửi nhãn dán (sticker)]"
    assert forwarded_note(item("chị ơi")) == "chị ơi"


async def test_a_safety_yes_press_while_the_assistant_is_down_opens_a_danger_now_case(io) -> None:
    turn = await decide_turn(item("/safety_yes"), FakeBot(BotReply(failed="timeout")), io)
    assert turn.outcome == "safety_net" and turn.urgent
    [(key, text, verdict)] = io.nets
    assert key == "zalo:m1" and verdict.urgency == DANGER_NOW and SAFETY_CONFIRMED_REASON in verdict.reasons
    assert text == "Có, đang nguy hiểm"


async def test_a_safety_yes_answered_with_a_case_needs_no_net(io) -> None:
    marked = BotReply((("Mình đã chuyển tin nhắn… 113", None),), case_marked=True)
    turn = await decide_turn(item("/safety_yes"), FakeBot(marked), io)
    assert turn.outcome == "bot" and turn.urgent and io.nets == []


def test_an_english_urgent_message_gets_the_english_hotline_reply(library, store) -> None:
    text = "my husband is hitting me right now, help me"
    reply = safety_reply(library, store, "zalo:u1", text, TriageResult(DANGER_NOW, ("kêu cứu",)), "m-en")
    assert "113" in reply and "Mình rất lo" not in reply
    [case] = store.list_cases()
    assert case.sender_id == "zalo:u1" and case.message == text
