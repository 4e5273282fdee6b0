"""The pinned summary in the counselors' group: posted and pinned once, edited as the counts change (debounced)."""

from __future__ import annotations

import asyncio

import pytest

from bot.desk import keys
from bot.desk.commands import Actor
from bot.desk.telegram.summary import SummaryWatcher
from tests.desk.helpers import COUNSELORS, Desk, eventually, open_case

pytestmark = pytest.mark.asyncio
MESSAGE = "Chồng tôi đang đánh tôi, gọi 0912 345 678"


def summaries(desk: Desk) -> list:
    """The summary messages the fake received in the counselors' group."""
    return [m for m in desk.tg.sent(COUNSELORS) if "Hàng đợi tư vấn" in (m.edits[0] if m.edits else m.text)]


async def test_one_pinned_summary_edited_when_the_counts_change(clocked_desk: Desk) -> None:
    desk, tg = clocked_desk, clocked_desk.tg
    await asyncio.sleep(0.3)
    assert not summaries(desk)  # a desk that just started waits 30 s before its first post
    desk.clock.advance(seconds=31)
    await tg.wait_for("pinChatMessage")  # posted and pinned, even with nothing waiting
    (pinned,) = summaries(desk)
    assert tg.pinned[str(COUNSELORS)] == pinned.message_id and "Không có ca nào đang chờ" in pinned.text

    first, second = open_case(desk.engine, "zalo:1", message=MESSAGE), open_case(desk.engine, "zalo:2")
    await asyncio.sleep(0.5)  # the watcher runs every 0.05 s here: debounced, nothing yet
    assert not pinned.edits
    desk.clock.advance(seconds=31)
    await eventually(lambda: "Đang chờ người nhận: <b>2</b> ca" in pinned.text)
    assert "Không có ca nào quá hạn" in pinned.text

    desk.clock.advance(minutes=6)  # past the danger-now deadline (5 minutes)
    await eventually(lambda: "Quá hạn chưa ai nhận: <b>2</b> ca" in pinned.text)
    edits = len(pinned.edits)
    assert desk.commands.claim(first, Actor("tg:12", "Hoa"), "Telegram").ok
    desk.clock.advance(seconds=31)
    await eventually(lambda: "Đang chờ người nhận: <b>1</b> ca" in pinned.text)
    assert len(pinned.edits) == edits + 1

    # Nothing changed: another pass (a second watcher, as after a restart) queues nothing.
    watcher = SummaryWatcher(desk.engine, desk.clock, desk.app[keys.SETTINGS])
    assert watcher.check() is False
    assert len(summaries(desk)) == 1 and len(tg.calls("pinChatMessage")) == 1
    for text in [pinned.text, *pinned.edits]:
        assert "đánh" not in text and "0912" not in text and "#" not in text  # counts only
    assert second


async def test_a_deleted_summary_is_posted_and_pinned_again(clocked_desk: Desk) -> None:
    desk, tg = clocked_desk, clocked_desk.tg
    desk.clock.advance(seconds=31)
    await tg.wait_for("pinChatMessage")
    (old,) = summaries(desk)
    del tg.messages[(str(COUNSELORS), old.message_id)]  # a member deleted it
    open_case(desk.engine, "zalo:1")
    desk.clock.advance(seconds=31)
    await tg.wait_for("pinChatMessage", 2)
    new = tg.message(COUNSELORS, tg.pinned[str(COUNSELORS)])
    assert new is not None and new.message_id != old.message_id and "<b>1</b> ca" in new.text
