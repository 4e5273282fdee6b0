"""Subscriptions: consent stored word for word, re-subscribing, unsubscribing at once, the inbound clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.db.engine import session_factory
from bot.outreach.models import TOPIC_EVENTS, TOPIC_NEWS, Subscription
from bot.outreach.subscriptions import (
    allow_despite_case,
    get_subscription,
    is_active,
    subscribe,
    touch_inbound,
    unsubscribe,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
WORDING = "Bạn đồng ý nhận tin của Hội LHPN tỉnh Nghệ An qua Zalo?"


def test_subscribe_stores_the_exact_wording_topics_province_and_time(engine) -> None:
    subscribe(engine, "zalo:1", [TOPIC_EVENTS, TOPIC_NEWS], "Nghệ An", WORDING, T0)
    view = get_subscription(engine, "zalo:1")
    assert view is not None and view.active
    assert view.channel == "zalo"
    assert view.topics == (TOPIC_NEWS, TOPIC_EVENTS)
    assert view.province == "Nghệ An"
    assert view.consented_at == T0 and view.last_inbound_at == T0
    with session_factory(engine)() as s:
        assert s.query(Subscription).one().consent_text == WORDING


def test_subscribing_again_reactivates_with_the_newest_wording(engine) -> None:
    subscribe(engine, "telegram:5", [TOPIC_NEWS], None, "cũ", T0)
    assert unsubscribe(engine, "telegram:5", T0 + timedelta(hours=1)) is True
    later = T0 + timedelta(days=2)
    subscribe(engine, "telegram:5", [TOPIC_EVENTS], "Hà Nội", "mới", later)
    view = get_subscription(engine, "telegram:5")
    assert view.active and view.topics == (TOPIC_EVENTS,) and view.province == "Hà Nội"
    assert view.consented_at == later
    with session_factory(engine)() as s:
        rows = s.query(Subscription).all()
        assert len(rows) == 1 and rows[0].consent_text == "mới" and rows[0].unsubscribed_at is None


def test_unsubscribe_takes_effect_at_once_and_says_whether_it_was_active(engine) -> None:
    assert unsubscribe(engine, "messenger:9", T0) is False  # never subscribed
    subscribe(engine, "messenger:9", [TOPIC_NEWS], None, WORDING, T0)
    assert is_active(engine, "messenger:9")
    assert unsubscribe(engine, "messenger:9", T0) is True
    view = get_subscription(engine, "messenger:9")
    assert view is not None and view.active is False
    assert unsubscribe(engine, "messenger:9", T0) is False  # already stopped


@pytest.mark.parametrize("topics, province", [([], "Hà Nội"), (["sports"], None), ([TOPIC_EVENTS], None)])
def test_bad_subscriptions_are_refused(engine, topics, province) -> None:
    with pytest.raises(ValueError):
        subscribe(engine, "zalo:2", topics, province, WORDING, T0)
    assert get_subscription(engine, "zalo:2") is None


def test_empty_consent_wording_is_refused(engine) -> None:
    with pytest.raises(ValueError):
        subscribe(engine, "zalo:2", [TOPIC_NEWS], None, "  ", T0)


def test_touch_inbound_moves_the_clock_forward_only_for_subscribers(engine) -> None:
    subscribe(engine, "zalo:1", [TOPIC_NEWS], None, WORDING, T0)
    later = T0 + timedelta(hours=30)
    touch_inbound(engine, ["zalo:1", "zalo:404"], later)
    assert get_subscription(engine, "zalo:1").last_inbound_at == later
    assert get_subscription(engine, "zalo:404") is None  # no row made for a non-subscriber
    touch_inbound(engine, ["zalo:1"], T0)  # an older message never moves it back
    assert get_subscription(engine, "zalo:1").last_inbound_at == later
    touch_inbound(engine, [], later)  # nothing to do


def test_touch_inbound_inside_a_callers_transaction(engine) -> None:
    subscribe(engine, "zalo:1", [TOPIC_NEWS], None, WORDING, T0)
    later = T0 + timedelta(hours=1)
    with engine.begin() as conn:
        touch_inbound(conn, ["zalo:1"], later)
    assert get_subscription(engine, "zalo:1").last_inbound_at == later


def test_counselor_override_is_recorded(engine) -> None:
    assert allow_despite_case(engine, "zalo:1", "lan") is False
    subscribe(engine, "zalo:1", [TOPIC_NEWS], None, WORDING, T0)
    assert allow_despite_case(engine, "zalo:1", "lan") is True
    assert get_subscription(engine, "zalo:1").case_override_by == "lan"
