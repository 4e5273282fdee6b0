"""Rasa's output side: the case marker is noted, never shown; the REST channel uses the same safety policy."""

from __future__ import annotations

import asyncio
import json

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.cases.models import CLAIMED
from bot.cases.store import CaseRequest, CaseStore
from bot.channels.collector import MarkingCollector, ReplyCollector
from bot.channels.rest_safe import SafeRestInput, guarded_turn
from bot.replies import CASE_MARKER, case_marker
from bot.runtime import fixed_runtime

URGENT = "chồng tôi đang đánh tôi, cứu tôi với"
FAQ = "Khi đang có nguy hiểm, hãy gọi ngay 113 (công an), cần cấp cứu gọi 115."


async def test_reply_collector_notes_the_marker_and_keeps_it_out_of_the_text() -> None:
    collector = ReplyCollector("zalo")
    await collector.send_response("zalo:u1", {"text": "Mình đã chuyển tin nhắn (mã ca #3).", **case_marker(3)})
    reply = collector.reply()
    assert reply.case_marked and reply.parts == (("Mình đã chuyển tin nhắn (mã ca #3).", None),)
    assert all(CASE_MARKER not in m for m in collector.messages)


async def test_reply_collector_without_marker() -> None:
    collector = ReplyCollector("zalo")
    await collector.send_response("zalo:u1", {"text": FAQ})
    assert not collector.reply().case_marked


async def test_rest_collector_returns_what_rasa_would_without_the_marker() -> None:
    plain, marking = CollectingOutputChannel(), MarkingCollector()
    message = {"text": "Đoạn một.\n\nĐoạn hai.", "buttons": [{"title": "Có", "payload": "/affirm"}]}
    await plain.send_response("u", dict(message))
    await marking.send_response("u", {**message, **case_marker(None)})
    assert marking.messages == plain.messages and marking.case_marked


class Rasa:
    """Stands in for the agent on a REST message: answers `text`, marked or not, maybe opening a case."""

    def __init__(self, text: str, store: CaseStore | None = None) -> None:
        self.text, self.store = text, store

    async def __call__(self, message: UserMessage) -> None:
        extra = {}
        if self.store is not None:
            case, _ = self.store.open_case(CaseRequest("rest", message.sender_id, "danger_now", message.text,
                                                       ("kêu cứu",), message_id=message.message_id))
            extra = case_marker(case.id)
        await message.output_channel.send_response(message.sender_id, {"text": self.text, **extra})


def rest_message(text: str, sender: str = "web-1") -> tuple[UserMessage, CollectingOutputChannel]:
    collector = CollectingOutputChannel()
    return UserMessage(text, collector, sender, input_channel="rest"), collector


async def test_rest_urgent_faq_answer_gets_the_safety_net_and_one_case(library, store) -> None:
    message, collector = rest_message(URGENT)
    await guarded_turn(message, Rasa(FAQ), fixed_runtime(library, store))
    texts = [m["text"] for m in collector.messages]
    (case,) = store.list_cases(sender_id="web-1")
    assert texts[0] == FAQ and any(f"mã ca #{case.id}" in t for t in texts[1:])
    assert case.message_id == message.message_id


async def test_rest_urgent_reply_with_the_marker_gets_nothing_more(library, store) -> None:
    message, collector = rest_message(URGENT)
    await guarded_turn(message, Rasa("Mình rất lo cho bạn.", store), fixed_runtime(library, store))
    assert collector.messages == [{"recipient_id": "web-1", "text": "Mình rất lo cho bạn."}]
    assert len(store.list_cases(sender_id="web-1")) == 1


async def test_rest_failure_on_an_urgent_message_gets_the_hotline(library, store) -> None:
    async def broken(message: UserMessage) -> None:
        raise RuntimeError("action server down")

    message, collector = rest_message(URGENT)
    await guarded_turn(message, broken, fixed_runtime(library, store))
    reply = "\n\n".join(m["text"] for m in collector.messages)  # Rasa's REST collector splits paragraphs
    (case,) = store.list_cases(sender_id="web-1")
    assert "113" in reply and f"mã ca #{case.id}" in reply


async def test_rest_non_urgent_and_counselor_owned_get_no_safety_reply(library, store) -> None:
    calm, calm_out = rest_message("chủ đề năm nay là gì?")
    await guarded_turn(calm, Rasa("Chủ đề năm nay…"), fixed_runtime(library, store))
    assert [m["text"] for m in calm_out.messages] == ["Chủ đề năm nay…"]
    case, _ = store.open_case(CaseRequest("rest", "web-2", "needs_support", "cần giúp", ("test",)))
    with store.Session.begin() as s:
        s.get(type(case), case.id).status = CLAIMED
    owned, owned_out = rest_message(URGENT, sender="web-2")
    await guarded_turn(owned, Rasa(""), fixed_runtime(library, store))
    assert owned_out.messages == [] and len(store.list_cases(sender_id="web-2")) == 1


class _Stream:
    """What Sanic hands the REST channel's stream function: collects the written lines."""

    def __init__(self) -> None:
        self.lines: list[dict] = []

    async def write(self, data: str) -> None:
        self.lines.extend(json.loads(line) for line in data.splitlines() if line.strip())


async def test_rest_stream_true_gets_the_safety_net_and_ends_when_the_assistant_hangs(library, store) -> None:
    async def hangs(message: UserMessage) -> None:
        await asyncio.sleep(3600)

    rt = fixed_runtime(library, store)
    stream = SafeRestInput().stream_response(lambda m: guarded_turn(m, hangs, rt, timeout=0.5), URGENT, "web-3",
                                             "rest", None)
    resp = _Stream()
    await asyncio.wait_for(stream(resp), timeout=10)
    reply = "\n\n".join(line["text"] for line in resp.lines)
    (case,) = store.list_cases(sender_id="web-3")
    assert "113" in reply and f"mã ca #{case.id}" in reply
