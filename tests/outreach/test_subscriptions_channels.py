"""Subscribing on the channels: Telegram's /dangky and /huy, the inbound clock written with the inbox row."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.channels import store
from bot.channels.items import TEXT, Item
from bot.channels.telegram import parse_telegram_update
from bot.outreach.models import TOPIC_NEWS
from bot.outreach.subscriptions import get_subscription, subscribe

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def _update(text: str) -> dict:
    return {"update_id": 7, "message": {"message_id": 1, "date": 1_700_000_000, "text": text,
                                         "chat": {"id": 42, "type": "private"},
                                         "from": {"id": 42, "is_bot": False, "first_name": "Lan"}}}


@pytest.mark.parametrize("typed, intent", [("/dangky", "/subscribe"), ("/huy", "/unsubscribe"),
                                           ("/DangKy@resident_bot", "/subscribe"), ("/huy ngay", "/unsubscribe")])
def test_telegram_commands_become_the_outreach_intents(typed, intent) -> None:
    (item,) = parse_telegram_update(_update(typed)).items
    assert (item.kind, item.text) == (TEXT, intent)


@pytest.mark.parametrize("typed", ["/subscribe", "/unsubscribe", "/poll_option_1", "/dang_ky"])
def test_other_typed_slash_texts_stay_words(typed) -> None:
    (item,) = parse_telegram_update(_update(typed)).items
    assert not item.text.startswith("/")


def test_an_accepted_message_moves_the_subscribers_inbound_clock(engine) -> None:
    subscribe(engine, "zalo:1", [TOPIC_NEWS], None, "Đồng ý", T0)
    before = get_subscription(engine, "zalo:1").last_inbound_at
    items = [Item(key="zalo:m1", channel="zalo", sender_id="zalo:1", kind=TEXT, text="chào"),
             Item(key="zalo:m2", channel="zalo", sender_id="zalo:2", kind=TEXT, text="chào")]
    fresh = store.insert_items(engine, items, timedelta(hours=1))
    assert len(fresh) == 2
    after = get_subscription(engine, "zalo:1").last_inbound_at
    assert after > before
    assert get_subscription(engine, "zalo:2") is None
