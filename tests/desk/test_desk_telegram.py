"""The counselors' group: one card per case, retries, buttons, membership, replies, webhook."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.cases.handoff import forward_resident_message, human_owner
from bot.cases.models import CLAIMED, OPEN, RESOLVED, Case, CaseEvent
from bot.cases.store import CaseStore
from bot.db.engine import session_factory
from bot.desk.accounts import create_account
from bot.desk.commands import Actor
from bot.desk.keys import SETTINGS
from bot.desk.models import TelegramMessage
from bot.outbox.models import SENT, SKIPPED, OutboxItem
from tests.desk.helpers import COUNSELORS, PASSWORD, Desk, eventually, open_case, start_desk
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio


def kinds(engine, case_id: int) -> list[str]:
    """Kinds of a case's events, oldest first."""
    return [e.kind for e in CaseStore(engine).events(case_id)]


async def recorded(engine, message) -> None:
    """Wait until the desk has recorded a message it posted (replies to it find their case from then on)."""
    def find() -> bool:
        with session_factory(engine)() as s:
            return s.execute(select(TelegramMessage.id).where(
                TelegramMessage.message_id == message.message_id)).first() is not None
    await eventually(find, timeout=10)


async def card_of(tg: FakeTelegram, case_id: int, engine=None):
    """The card message of a case in the counselors' group (waits for it, and for the desk to record it)."""
    def find() -> list:
        return [m for m in tg.sent(COUNSELORS) if f"· Ca #{case_id}\n" in (m.edits[0] if m.edits else m.text)]
    card = (await eventually(find, timeout=10))[0]
    if engine is not None:
        await recorded(engine, card)
    return card


async def press(tg: FakeTelegram, user_id: int, msg, data: str, chat_id: int = COUNSELORS) -> str:
    """Press an inline button as a user; returns the callback answer text."""
    before = len(tg.calls("answerCallbackQuery"))
    update = tg.callback_update(user=tg.user(user_id, f"TV{user_id}"), message=msg, data=data)
    update["callback_query"]["message"]["chat"] = tg.chat(chat_id)
    tg.push_update(update)
    answers = await tg.wait_for("answerCallbackQuery", before + 1, timeout=10)
    return str(answers[-1].params.get("text"))


async def test_new_case_gives_exactly_one_card_with_masked_details(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine)
    await tg.wait_for("sendMessage", chat_id=COUNSELORS)
    await asyncio.sleep(0.5)  # several scan and outbox passes later, still one card
    cards = tg.sent(COUNSELORS)
    assert len(cards) == 1
    card = cards[0]
    assert f"Ca #{case_id}" in card.text and "NGUY HIỂM NGAY" in card.text
    assert "Hà Nội" in card.text and "Web (REST)" in card.text and "từ khoá nguy hiểm" in card.text
    assert "0912" not in card.text and "lan@example.com" not in card.text
    assert "[số điện thoại]" in card.text and "[email]" in card.text
    assert f"http://127.0.0.1:8080/cases/{case_id}" in card.text
    buttons = card.buttons()
    assert [b["text"] for b in buttons] == ["Nhận ca", "Đã xử lý"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    await eventually(lambda: "notified" in kinds(desk.engine, case_id))


async def test_card_is_retried_with_backoff_until_telegram_accepts(desk: Desk, tg: FakeTelegram) -> None:
    tg.fail("sendMessage", times=2)
    tg.rate_limit("sendMessage", retry_after=1, times=1)
    case_id = open_case(desk.engine)
    await tg.wait_for("sendMessage", chat_id=COUNSELORS, timeout=15)
    outcomes = [r.outcome for r in tg.calls("sendMessage", outcome=None)]
    assert outcomes == ["failed", "failed", "rate_limited", "ok"]
    rate_limited_at = tg.calls("sendMessage", outcome="rate_limited")[0].at
    assert tg.calls("sendMessage")[0].at - rate_limited_at >= 0.9  # retry_after was honoured
    await asyncio.sleep(0.3)
    assert len(tg.sent(COUNSELORS)) == 1
    with session_factory(desk.engine)() as s:
        row = s.execute(select(OutboxItem).where(OutboxItem.dedup_key == f"card:{case_id}")).scalar_one()
    assert row.status == SENT and row.attempts == 3


async def test_health_reports_failing_notifications_and_console_still_lists(desk: Desk, tg: FakeTelegram) -> None:
    tg.fail("sendMessage", times=None)
    case_id = open_case(desk.engine)
    await eventually(lambda: tg.calls("sendMessage", outcome="failed"))
    await asyncio.sleep(0.1)
    async with desk.http.get(f"{desk.url}/health", headers={"Authorization": "Bearer test-api-token"}) as resp:
        body = await resp.json()
        assert resp.status == 503
    assert body["notifications"] == "failing" and body["status"] == "degraded"
    assert body["notifications_pending"] >= 1
    async with desk.http.get(f"{desk.url}/api/cases", headers={"Authorization": "Bearer test-api-token"}) as resp:
        assert [c["id"] for c in await resp.json()] == [case_id]
    tg.heal()
    await tg.wait_for("sendMessage", chat_id=COUNSELORS, timeout=10)

    async def healthy() -> bool:
        async with desk.http.get(f"{desk.url}/health", headers={"Authorization": "Bearer test-api-token"}) as resp:
            return resp.status == 200 and (await resp.json())["notifications"] == "ok"
    await eventually(healthy, timeout=5)


async def test_claim_by_button_edits_card_and_second_claim_is_refused(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine)
    card = await card_of(tg, case_id)
    answer = await press(tg, 11, card, f"claim:{case_id}")
    assert f"Bạn đã nhận ca #{case_id}" in answer
    await eventually(lambda: "Đã nhận" in (tg.message(COUNSELORS, card.message_id).text))
    edited = tg.message(COUNSELORS, card.message_id)
    assert "TV11" in edited.text and [b["text"] for b in edited.buttons()] == ["Đã xử lý"]
    refused = await press(tg, 12, card, f"claim:{case_id}")
    assert "đã được TV11 nhận lúc" in refused and "Cảm ơn" in refused
    assert tg.calls("answerCallbackQuery")[-1].params.get("show_alert") is True
    case = CaseStore(desk.engine).get(case_id)
    assert case.status == CLAIMED and "TV11" in case.claimed_by
    assert kinds(desk.engine, case_id).count("claimed") == 1
    assert human_owner(desk.engine, "rest-user-1") == case_id
    # The Rasa conversation is paused and the resident told, in this order.
    await eventually(lambda: desk.rasa.kinds("rest-user-1") == ["pause", "bot"])
    assert "tư vấn viên đã nhận" in desk.rasa.texts("rest-user-1")[0]


async def test_non_member_cannot_claim_or_resolve(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine)
    card = await card_of(tg, case_id)
    for user, data in ((99, f"claim:{case_id}"), (12345, f"resolve:{case_id}")):
        answer = await press(tg, user, card, data)
        assert "Chỉ thành viên nhóm tư vấn" in answer
    assert CaseStore(desk.engine).get(case_id).status == OPEN
    # A press relayed from another chat is refused too, even by a member.
    answer = await press(tg, 11, card, f"claim:{case_id}", chat_id=-555)
    assert "Chỉ thành viên nhóm tư vấn" in answer
    assert CaseStore(desk.engine).get(case_id).status == OPEN


async def test_claim_race_has_exactly_one_winner(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine)
    card = await card_of(tg, case_id)
    for user in (11, 12, 13):
        update = tg.callback_update(user=tg.user(user, f"TV{user}"), message=card, data=f"claim:{case_id}")
        tg.push_update(update)
    console = asyncio.gather(*(asyncio.to_thread(desk.commands.claim, case_id, Actor(f"desk:u{i}", f"U{i}"), "test")
                               for i in range(4)))
    outcomes = await console
    answers = await tg.wait_for("answerCallbackQuery", 3, timeout=10)
    winners = [o for o in outcomes if o.ok] + [a for a in answers if "Bạn đã nhận" in str(a.params.get("text"))]
    assert len(winners) == 1
    assert kinds(desk.engine, case_id).count("claimed") == 1
    await asyncio.sleep(0.3)
    assert desk.rasa.kinds("rest-user-1").count("pause") == 1


async def test_resolve_gives_conversation_back_and_updates_card(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine, sender="zalo:42")
    card = await card_of(tg, case_id)
    await press(tg, 11, card, f"claim:{case_id}")
    answer = await close_case(tg, 11, card, case_id)
    assert "đã xử lý" in answer
    assert CaseStore(desk.engine).get(case_id).status == RESOLVED
    assert human_owner(desk.engine, "zalo:42") is None
    await eventually(lambda: "✅ Đã xử lý" in tg.message(COUNSELORS, card.message_id).text)
    assert tg.message(COUNSELORS, card.message_id).reply_markup is None
    await eventually(lambda: desk.rasa.kinds("zalo:42") == ["pause", "bot", "resume", "bot"])
    pushed = [t for sid, t, _ in desk.outbound.sent if sid == "zalo:42"]
    assert len(pushed) == 2 and "Trợ lý tự động sẽ tiếp tục" in pushed[1] and "113" in pushed[1]
    again = await press(tg, 12, card, f"resolve:{case_id}")
    assert "đã được xử lý xong trước đó" in again


async def test_reply_to_card_reaches_resident_and_forwarding_mentions_claimer(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine, sender="messenger:77")
    card = await card_of(tg, case_id, desk.engine)
    # Before anyone claims, a reply is refused politely.
    tg.push_update(tg.text_update(user=tg.user(12, "TV12"), chat_id=COUNSELORS, text="Chào bạn", reply_to=card))
    await eventually(lambda: any("Nhận ca" in m.text for m in tg.sent(COUNSELORS)[1:]))
    await press(tg, 11, card, f"claim:{case_id}")
    tg.push_update(tg.text_update(user=tg.user(11, "TV11"), chat_id=COUNSELORS, text="Chị ở đây, em an toàn chứ?",
                                  reply_to=card))
    await eventually(lambda: ("messenger:77", "Chị ở đây, em an toàn chứ?", True) in desk.outbound.sent)
    await eventually(lambda: "Chị ở đây, em an toàn chứ?" in desk.rasa.texts("messenger:77"))
    await eventually(lambda: any("Đã nhận, đang gửi tới người dân" in m.text for m in tg.sent(COUNSELORS)))
    # Another member cannot speak for the claimer.
    tg.push_update(tg.text_update(user=tg.user(12, "TV12"), chat_id=COUNSELORS, text="Xin chào", reply_to=card))
    await eventually(lambda: any("chỉ người nhận ca" in m.text for m in tg.sent(COUNSELORS)))
    assert ("messenger:77", "Xin chào", True) not in desk.outbound.sent
    # The resident writes again: recorded on the case and forwarded to the group, claimer mentioned.
    await asyncio.to_thread(forward_resident_message, desk.engine, case_id, "Em sợ lắm, số em 0987654321")
    fwd = await eventually(lambda: [m for m in tg.sent(COUNSELORS) if "người dân nhắn thêm" in m.text])
    assert "tg://user?id=11" in fwd[0].text and "0987654321" not in fwd[0].text
    assert fwd[0].reply_to_message_id == card.message_id
    await recorded(desk.engine, fwd[0])
    # Replying to the forwarded message also reaches the resident.
    tg.push_update(tg.text_update(user=tg.user(11, "TV11"), chat_id=COUNSELORS, text="Chị gọi em nhé",
                                  reply_to=fwd[0]))
    await eventually(lambda: ("messenger:77", "Chị gọi em nhé", True) in desk.outbound.sent)
    assert [k for k in kinds(desk.engine, case_id) if k in ("counselor_reply", "resident_message")] == [
        "counselor_reply", "resident_message", "counselor_reply"]


async def test_updates_are_handled_once(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine, sender="zalo:5")
    card = await card_of(tg, case_id, desk.engine)
    await press(tg, 11, card, f"claim:{case_id}")
    update = tg.text_update(user=tg.user(11), chat_id=COUNSELORS, text="Một lần thôi", reply_to=card)
    update["update_id"] = 5000
    await desk.telegram.process_update(update)
    await desk.telegram.process_update(dict(update))
    await eventually(lambda: any(t == "Một lần thôi" for _, t, _ in desk.outbound.sent))
    await asyncio.sleep(0.2)
    assert [t for _, t, _ in desk.outbound.sent].count("Một lần thôi") == 1


async def test_webhook_checks_secret_token(engine, tg: FakeTelegram) -> None:
    running = await start_desk(engine, tg, update_mode="webhook", webhook_secret="s3cret-Token_1")
    try:
        running.app[SETTINGS].public_url = running.url
        await eventually(lambda: tg.webhook.get("url"), timeout=5)
        # The desk registered the webhook at its public URL with the secret; point it at this server.
        assert tg.webhook["secret_token"] == "s3cret-Token_1"
        tg.webhook["url"] = f"{running.url}/telegram/webhook"
        case_id = open_case(engine)
        card = await card_of(tg, case_id)
        update = tg.callback_update(user=tg.user(11, "TV11"), message=card, data=f"claim:{case_id}")
        assert await tg.deliver_webhook(update, secret="wrong") == 403
        assert CaseStore(engine).get(case_id).status == OPEN
        assert await tg.deliver_webhook(dict(update), secret="") == 403
        assert await tg.deliver_webhook(update) == 200
        assert CaseStore(engine).get(case_id).status == CLAIMED
    finally:
        await running.stop()


async def test_without_token_desk_runs_and_says_once_notifications_are_off(
        engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    running = await start_desk(engine, None)
    try:
        case_id = open_case(engine)

        def telegram_rows() -> list[tuple[str, str, int]]:
            with session_factory(engine)() as s:
                return [(r.dedup_key, r.status, r.attempts) for r in s.execute(
                    select(OutboxItem).where(OutboxItem.kind.like("tg_%"))).scalars()]
        # The card row is queued with the case; without Telegram it ends `skipped` at once, never retried.
        await eventually(lambda: telegram_rows() == [(f"card:{case_id}", SKIPPED, 0)], timeout=3)
        await asyncio.sleep(0.3)
        assert telegram_rows() == [(f"card:{case_id}", SKIPPED, 0)]
        async with running.http.get(f"{running.url}/health",
                                    headers={"Authorization": "Bearer test-api-token"}) as resp:
            assert resp.status == 200
            body = await resp.json()
            assert body["notifications"] == "off" and body["notifications_pending"] == 0
        assert CaseStore(engine).get(case_id) is not None
    finally:
        await running.stop()
    notes = [r for r in caplog.records if "notifications are off" in r.getMessage()]
    assert len(notes) == 1


async def test_logs_hold_no_message_text_or_phone(desk: Desk, tg: FakeTelegram,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # what the desk runs with; its own loggers at DEBUG
    caplog.set_level(logging.DEBUG, logger="bot")
    case_id = open_case(desk.engine, sender="zalo:9", message="Cứu tôi, số tôi 0912345678")
    card = await card_of(tg, case_id, desk.engine)
    await press(tg, 11, card, f"claim:{case_id}")
    tg.push_update(tg.text_update(user=tg.user(11, "Nguyễn Thị Lan"), chat_id=COUNSELORS, text="Bí mật riêng",
                                  reply_to=card))
    await eventually(lambda: any(t == "Bí mật riêng" for _, t, _ in desk.outbound.sent))
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("0912345678", "Cứu tôi", "Bí mật riêng", "Nguyễn Thị Lan", tg.token):
        assert secret not in text


async def test_case_event_history_records_actor_and_time(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine)
    card = await card_of(tg, case_id)
    await press(tg, 13, card, f"claim:{case_id}")
    await close_case(tg, 13, card, case_id)
    with session_factory(desk.engine)() as s:
        events = list(s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).scalars())
        case = s.get(Case, case_id)
    by_kind = {e.kind: e for e in events}
    assert {"created", "notified", "claimed", "resolved"} <= set(by_kind)
    assert by_kind["claimed"].actor == "TV13 <tg:13>" and by_kind["resolved"].actor == "TV13 <tg:13>"
    assert all(e.at is not None for e in events)
    assert case.resolved_at is not None


async def test_only_the_claimant_or_a_supervisor_closes_a_case_from_telegram(desk: Desk, tg: FakeTelegram) -> None:
    create_account(desk.engine, "tuan", PASSWORD, "supervisor", "Anh Tuấn", telegram_user_id=13)
    case_id = open_case(desk.engine, sender="zalo:71")  # danger_now
    card = await card_of(tg, case_id)
    answer = await press(tg, 12, card, f"resolve:{case_id}")  # unclaimed danger: claim first, or a reason
    assert "«Nhận ca»" in answer and "lý do" in answer and len(answer) <= 200
    assert tg.calls("answerCallbackQuery")[-1].params.get("show_alert") is True
    assert CaseStore(desk.engine).get(case_id).status == OPEN
    await press(tg, 11, card, f"claim:{case_id}")
    answer = await press(tg, 12, card, f"resolve:{case_id}")  # another member
    assert "chỉ người nhận ca hoặc giám sát" in answer
    assert CaseStore(desk.engine).get(case_id).status == CLAIMED
    answer = await close_case(tg, 13, card, case_id)  # the supervisor, by the Telegram id of her account
    assert "đã xử lý" in answer and CaseStore(desk.engine).get(case_id).status == RESOLVED
    assert [e.actor for e in CaseStore(desk.engine).events(case_id) if e.kind == "resolved"] == ["Anh Tuấn <tg:13>"]


async def close_case(tg: FakeTelegram, user_id: int, card, case_id: int, outcome: str = "advised") -> str:
    """«Đã xử lý» on the card, then the outcome button of the question it brings; returns the last answer."""
    answer = await press(tg, user_id, card, f"resolve:{case_id}")
    if "Chọn kết quả" not in answer:
        return answer
    question = await eventually(lambda: [m for m in tg.sent(COUNSELORS)
                                         if m.text.startswith(f"Ca #{case_id}: chọn kết quả")])
    return await press(tg, user_id, question[-1], f"outcome:{case_id}:{outcome}")


def flaky(real, failures: int):
    """`real`, failing with a database error the first `failures` times."""
    left = {"n": failures}

    def call(*args, **kwargs):
        if left["n"] > 0:
            left["n"] -= 1
            raise OperationalError("UPDATE cases", {}, Exception("disk I/O error"))
        return real(*args, **kwargs)
    return call


async def test_a_claim_that_failed_is_not_lost(desk: Desk, tg: FakeTelegram, monkeypatch) -> None:
    real = desk.commands.claim
    first, second = open_case(desk.engine, sender="zalo:81"), open_case(desk.engine, sender="zalo:82")
    cards = [await card_of(tg, first), await card_of(tg, second)]
    updates = [tg.callback_update(user=tg.user(11, "TV11"), message=card, data=f"claim:{cid}")
               for card, cid in zip(cards, (first, second))]
    for i, update in enumerate(updates):
        update["update_id"] = 7000 + i
    # A passing failure (the database busy for a moment) is retried at once.
    monkeypatch.setattr(desk.commands, "claim", flaky(real, 1))
    await desk.telegram.process_update(updates[0])
    assert CaseStore(desk.engine).get(first).status == CLAIMED
    # A longer one: the update is not marked seen, so its next delivery claims the case, exactly once.
    monkeypatch.setattr(desk.commands, "claim", flaky(real, 100))
    with pytest.raises(OperationalError):
        await desk.telegram.process_update(updates[1])
    assert CaseStore(desk.engine).get(second).status == OPEN
    monkeypatch.setattr(desk.commands, "claim", real)
    await desk.telegram.process_update(dict(updates[1]))
    assert CaseStore(desk.engine).get(second).status == CLAIMED
    await desk.telegram.process_update(dict(updates[1]))
    assert kinds(desk.engine, second).count("claimed") == 1
    answers = [a for a in tg.calls("answerCallbackQuery")
               if a.params.get("callback_query_id") == updates[1]["callback_query"]["id"]]
    assert len(answers) == 1 and "Bạn đã nhận" in str(answers[0].params.get("text"))


async def test_a_reply_delivered_several_times_at_once_reaches_the_resident_once(desk: Desk,
                                                                                 tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine, sender="zalo:83")
    card = await card_of(tg, case_id, desk.engine)
    await press(tg, 11, card, f"claim:{case_id}")
    update = tg.text_update(user=tg.user(11), chat_id=COUNSELORS, text="Chỉ một lần", reply_to=card)
    update["update_id"] = 7100
    await asyncio.gather(*(desk.telegram.process_update(dict(update)) for _ in range(5)))
    await eventually(lambda: any(t == "Chỉ một lần" for _, t, _ in desk.outbound.sent))
    await asyncio.sleep(0.3)
    assert [t for _, t, _ in desk.outbound.sent].count("Chỉ một lần") == 1
    assert kinds(desk.engine, case_id).count("counselor_reply") == 1


async def test_someone_removed_from_the_group_stops_acting_within_seconds(desk: Desk, tg: FakeTelegram) -> None:
    cases = [open_case(desk.engine, sender=f"zalo:9{i}") for i in range(3)]
    cards = [await card_of(tg, cid) for cid in cases]
    assert "Bạn đã nhận" in await press(tg, 12, cards[0], f"claim:{cases[0]}")  # 12 is now known as a member
    # Telegram says she left the group: her membership is checked again at once.
    tg.set_member(COUNSELORS, 12, "left")
    tg.push_update({"message": {"message_id": 555001, "date": 0, "chat": tg.chat(COUNSELORS), "from": tg.user(13),
                                "left_chat_member": tg.user(12)}})
    assert "Chỉ thành viên nhóm tư vấn" in await press(tg, 12, cards[1], f"claim:{cases[1]}")
    # Without such an update, a removal counts within 10 seconds.
    assert "Bạn đã nhận" in await press(tg, 11, cards[1], f"claim:{cases[1]}")
    tg.set_member(COUNSELORS, 11, "kicked")
    desk.telegram.monotonic = lambda: time.monotonic() + 10.5
    assert "Chỉ thành viên nhóm tư vấn" in await press(tg, 11, cards[2], f"claim:{cases[2]}")
    assert CaseStore(desk.engine).get(cases[2]).status == OPEN


async def test_polling_asks_again_for_an_update_whose_handling_failed(desk: Desk, tg: FakeTelegram,
                                                                      monkeypatch) -> None:
    case_id = open_case(desk.engine, sender="zalo:84")
    card = await card_of(tg, case_id)
    monkeypatch.setattr(desk.commands, "claim", flaky(desk.commands.claim, 4))  # more than one round of retries
    tg.push_update(tg.callback_update(user=tg.user(11, "TV11"), message=card, data=f"claim:{case_id}"))
    await eventually(lambda: CaseStore(desk.engine).get(case_id).status == CLAIMED, timeout=10)
    assert kinds(desk.engine, case_id).count("claimed") == 1


async def test_an_unclaimed_danger_case_is_closed_in_the_group_with_a_reason(desk: Desk, tg: FakeTelegram) -> None:
    case_id = open_case(desk.engine, sender="zalo:85")
    await card_of(tg, case_id)
    before = len(tg.sent(COUNSELORS))
    tg.push_update(tg.text_update(user=tg.user(12, "TV12"), chat_id=COUNSELORS, text=f"/dong {case_id}"))
    usage = await eventually(lambda: [m for m in tg.sent(COUNSELORS)[before:] if "/dong" in m.text])
    assert "lý do" in usage[0].text and CaseStore(desk.engine).get(case_id).status == OPEN
    tg.push_update(tg.text_update(user=tg.user(99, "Người ngoài"), chat_id=COUNSELORS,
                                  text=f"/dong {case_id} không phải ca thật"))  # not a member any more
    tg.push_update(tg.text_update(user=tg.user(12, "TV12"), chat_id=COUNSELORS,
                                  text=f"/dong@desk_bot {case_id} Trùng với ca trước, đã gọi lại"))
    await eventually(lambda: CaseStore(desk.engine).get(case_id).status == RESOLVED)
    resolved = [e for e in CaseStore(desk.engine).events(case_id) if e.kind == "resolved"]
    assert len(resolved) == 1 and resolved[0].actor == "TV12 <tg:12>"
    assert "Lý do: Trùng với ca trước, đã gọi lại" in resolved[0].detail
    await eventually(lambda: any("Đã đánh dấu ca" in m.text for m in tg.sent(COUNSELORS)[before:]))
