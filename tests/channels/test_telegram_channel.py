"""Residents' Telegram bot: secret token, /start, /xoa, inline keyboards with callback queries answered."""

from __future__ import annotations

import json

import pytest

from bot.channels.telegram import TelegramInput
from tests.channels.harness import (
    TG_SECRET,
    FakeBot,
    channel_env,
    inbox_statuses,
    start_stack,
    wait_processed,
    wait_until,
)
from tests.fakes.telegram_api import FakeTelegram

RESIDENT = 4242


@pytest.fixture
async def stack(telegram: FakeTelegram, http, engine, library):
    bot = FakeBot(buttons=[{"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}])
    s = await start_stack(TelegramInput, engine, library, channel_env(telegram=telegram), http, bot=bot)
    telegram.webhook = {"url": s.server.url("telegram"), "secret_token": TG_SECRET}
    yield s
    await s.stop()


def text(telegram: FakeTelegram, body: str, chat_id: int = RESIDENT) -> dict:
    return telegram.text_update(user=telegram.user(chat_id, "Lan"), chat_id=chat_id, text=body)


async def test_text_reply_comes_back_with_an_inline_keyboard(stack, telegram) -> None:
    status = await telegram.deliver_webhook(text(telegram, "Tôi muốn hỏi về luật"))
    assert status == 200
    await telegram.wait_for("sendMessage", 1, chat_id=RESIDENT)
    (msg,) = telegram.sent(RESIDENT)
    assert msg.text == "Mình đã nhận được tin nhắn của bạn (1)."
    assert [b["callback_data"] for b in msg.buttons()] == ["/affirm", "/deny"]
    sender, received, message_id = stack.bot.calls[0]
    assert (sender, received) == (f"telegram:{RESIDENT}", "Tôi muốn hỏi về luật")
    assert message_id.startswith("telegram:")


@pytest.mark.parametrize("secret", ["", "wrong-secret"])
async def test_missing_or_wrong_secret_token_is_refused(stack, telegram, engine, secret) -> None:
    status = await telegram.deliver_webhook(text(telegram, "xin chào"), secret=secret)
    assert status == 403
    assert stack.bot.calls == [] and inbox_statuses(engine) == {}


async def test_start_welcomes_and_xoa_starts_the_delete_flow(stack, telegram, engine) -> None:
    await telegram.deliver_webhook(text(telegram, "/start"))
    await telegram.deliver_webhook(text(telegram, "/xoa@resident_test_bot"))
    await telegram.deliver_webhook(text(telegram, "/lenhla"))
    await wait_processed(engine, 3)
    assert stack.bot.texts_of(f"telegram:{RESIDENT}") == ["/greet", "xóa dữ liệu của tôi", "lenhla"]


async def test_button_press_is_answered_and_its_payload_sent_to_the_assistant(stack, telegram, engine) -> None:
    await telegram.deliver_webhook(text(telegram, "xóa dữ liệu của tôi"))
    await telegram.wait_for("sendMessage", 1, chat_id=RESIDENT)
    (msg,) = telegram.sent(RESIDENT)
    press = telegram.callback_update(user=telegram.user(RESIDENT), message=msg, data="/affirm", query_id="cq-77")
    assert await telegram.deliver_webhook(press) == 200
    await telegram.wait_for("answerCallbackQuery", 1)
    await telegram.wait_for("sendMessage", 2, chat_id=RESIDENT)
    assert telegram.calls("answerCallbackQuery")[0].params["callback_query_id"] == "cq-77"
    assert stack.bot.texts_of(f"telegram:{RESIDENT}") == ["xóa dữ liệu của tôi", "/affirm"]
    first_answer = telegram.calls("answerCallbackQuery")[0].at
    second_reply = telegram.calls("sendMessage")[1].at
    assert first_answer <= second_reply, "the button is answered before the bot's reply"


async def test_photo_gets_the_text_only_reply_and_group_chats_are_ignored(stack, telegram, engine) -> None:
    photo = text(telegram, "x")
    msg = photo["message"]
    msg.pop("text")
    msg["photo"] = [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]
    await telegram.deliver_webhook(photo)
    await telegram.wait_for("sendMessage", 1, chat_id=RESIDENT)
    reply = telegram.sent_texts(RESIDENT)[0]
    assert "hình ảnh" in reply and "113" in reply
    group = telegram.text_update(user=telegram.user(RESIDENT), chat_id=-100123, text="xin chào cả nhóm")
    assert await telegram.deliver_webhook(group) == 200
    assert stack.bot.calls == []


async def test_duplicate_update_id_is_answered_once(stack, telegram, engine) -> None:
    update = text(telegram, "xin chào") | {"update_id": 9001}
    assert await telegram.deliver_webhook(update) == 200
    assert await telegram.deliver_webhook(update) == 200
    await wait_processed(engine, 1)
    await wait_until(lambda: not stack.channel.worker._active, what="idle inbox worker")
    assert len(stack.bot.calls) == 1 and len(telegram.sent(RESIDENT)) == 1


async def test_malformed_updates_are_refused_with_400(stack, telegram) -> None:
    url, headers = stack.server.url("telegram"), {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    for body in (b"not json", json.dumps({"message": {}}).encode(),
                 json.dumps({"update_id": 5, "message": {"chat": "nope"}}).encode()):
        async with stack.http.post(url, data=body, headers=headers) as resp:
            assert resp.status == 400
    async with stack.http.post(url, data=json.dumps({"update_id": 6, "edited_message": None}).encode(),
                               headers=headers) as resp:
        assert resp.status == 200 and (await resp.json())["skipped"] == 1
    assert stack.bot.calls == []
