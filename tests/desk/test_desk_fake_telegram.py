"""The shared fake Bot API behaves like Telegram for python-telegram-bot."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.asyncio


async def test_send_edit_and_record() -> None:
    async with FakeTelegram() as tg:
        async with Bot(tg.token, base_url=tg.base_url) as bot:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("Nhận ca", callback_data="claim:7")]])
            msg = await bot.send_message(chat_id=-1001, text="Ca mới", reply_markup=markup)
            await bot.edit_message_text(chat_id=-1001, message_id=msg.message_id, text="Đã nhận")
            with pytest.raises(BadRequest, match="not modified"):
                await bot.edit_message_text(chat_id=-1001, message_id=msg.message_id, text="Đã nhận")
            assert await bot.answer_callback_query("q1", text="ok") is True
        assert tg.sent_texts(-1001) == ["Ca mới"]
        stored = tg.message(-1001, msg.message_id)
        assert stored is not None and stored.text == "Đã nhận" and stored.reply_markup is None
        sent = tg.calls("sendMessage")[0]
        assert sent.params["chat_id"] == -1001 and sent.params["text"] == "Ca mới"
        assert sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "claim:7"
        assert [r.method for r in tg.requests][:2] == ["getMe", "sendMessage"]


async def test_numeric_text_stays_text_and_long_callback_data_refused() -> None:
    async with FakeTelegram() as tg:
        bot = Bot(tg.token, base_url=tg.base_url)
        await bot.send_message(chat_id=5, text="123")
        assert tg.sent_texts(5) == ["123"]
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="y" * 65)]])
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(chat_id=5, text="a", reply_markup=markup)


async def test_wrong_token_is_refused() -> None:
    async with FakeTelegram() as tg:
        with pytest.raises(InvalidToken):
            await Bot("999:WRONG", base_url=tg.base_url).get_me()
        assert tg.calls(outcome="unauthorized")


async def test_failures_rate_limits_and_rejections() -> None:
    async with FakeTelegram() as tg:
        bot = Bot(tg.token, base_url=tg.base_url)
        tg.fail("sendMessage", times=1)
        with pytest.raises(NetworkError):
            await bot.send_message(chat_id=1, text="a")
        tg.rate_limit("sendMessage", retry_after=3)
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(chat_id=1, text="a")
        assert exc.value.retry_after in (3, 3.0) or str(exc.value.retry_after).startswith("0:00:03")
        tg.reject("sendMessage", description="Forbidden: bot was kicked", status=403)
        with pytest.raises(Exception, match="kicked"):
            await bot.send_message(chat_id=1, text="a")
        await bot.send_message(chat_id=1, text="b")
        assert tg.sent_texts(1) == ["b"]
        assert [r.outcome for r in tg.calls("sendMessage", outcome=None)] == [
            "failed", "rate_limited", "rejected", "ok"]


async def test_stall_until_timeout_then_release() -> None:
    async with FakeTelegram() as tg:
        bot = Bot(tg.token, base_url=tg.base_url,
                  request=HTTPXRequest(read_timeout=0.3, write_timeout=0.3, connect_timeout=0.3))
        tg.stall("sendMessage")
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=1, text="a")
        tg.release()
        await bot.send_message(chat_id=1, text="b")
        assert tg.sent_texts(1)[-1] == "b"


async def test_get_updates_long_poll_and_membership() -> None:
    async with FakeTelegram() as tg:
        bot = Bot(tg.token, base_url=tg.base_url)
        tg.set_member(-100, 42)
        assert (await bot.get_chat_member(-100, 42)).status == "member"
        for status in ("creator", "administrator", "restricted", "kicked"):
            tg.set_member(-100, 50, status)
            assert (await bot.get_chat_member(-100, 50)).status == status
        assert (await bot.get_chat_member(-100, 43)).status == "left"
        waiter = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        tg.push_update(tg.text_update(user=tg.user(42), chat_id=-100, text="xin chào"))
        updates = await asyncio.wait_for(waiter, 3)
        assert [u.message.text for u in updates] == ["xin chào"]
        assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()

