"""No log line the channels write carries a resident's text, phone number or sender id (INFO and above)."""

from __future__ import annotations

import logging

import bot.channels.inbox
from bot.channels.zalo import ZaloInput
from tests.channels.harness import ZALO_APP_ID, ZALO_OA_KEY, FakeBot, channel_env, start_stack, wait_until
from tests.fakes.zalo_api import signed, text_event

USER = "84987654321"
TEXT = "chồng tôi đang đánh tôi, số tôi là 0912345678"


def leaked(caplog) -> list[str]:
    """The pieces of the message or of its sender that reached a log record at INFO or above."""
    return [piece for piece in ("đánh tôi", "0912345678", USER) if piece in caplog.text]


async def test_an_urgent_message_through_the_safety_net_logs_nothing_of_it(zalo, http, engine, library,
                                                                            caplog) -> None:
    caplog.set_level(logging.INFO)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http, FakeBot(behaviour="raise"))
    try:
        status, _ = await stack.post(*signed(text_event(ZALO_APP_ID, USER, TEXT), ZALO_OA_KEY))
        assert status == 200
        await wait_until(lambda: "113" in "\n".join(zalo.delivered_texts(USER)), 15, "the hotline reply")
    finally:
        await stack.stop()
    assert leaked(caplog) == []


async def test_a_processing_failure_logs_no_text(zalo, http, engine, library, caplog, monkeypatch) -> None:
    async def broken(item, run_bot, io):
        raise RuntimeError(f"could not handle {item.text!r} from {item.sender_id}")

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(bot.channels.inbox, "decide_turn", broken)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http)
    try:
        await stack.post(*signed(text_event(ZALO_APP_ID, USER, TEXT), ZALO_OA_KEY))
        await wait_until(lambda: "processing failed" in caplog.text, 10, "the failure's log line")
    finally:
        await stack.stop()
    assert leaked(caplog) == []


async def test_an_accept_failure_logs_no_text(zalo, http, engine, library, caplog) -> None:
    caplog.set_level(logging.INFO)
    stack = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http)

    async def broken(items):
        raise ValueError(f"cannot store {items[0].text!r} for {items[0].sender_id}")

    try:
        stack.channel.worker.accept = broken
        status, _ = await stack.post(*signed(text_event(ZALO_APP_ID, USER, TEXT), ZALO_OA_KEY))
        assert status == 503  # not recorded: the platform redelivers
    finally:
        await stack.stop()
    assert "could not accept zalo events" in caplog.text and leaked(caplog) == []
