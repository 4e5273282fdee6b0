"""Polls: one answer per voter (the latest counts), no sender id stored, small groups hidden, the open window."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.db.engine import session_factory
from bot.outreach.models import DONE, R_PENDING, R_SENT, Broadcast, BroadcastRecipient, PollAnswer
from bot.outreach.polls import latest_open_poll, poll_results, record_answer, voter_token

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
KEY = b"k" * 32
OPTIONS = ["Rất hữu ích", "Bình thường", "Chưa hữu ích"]


def make_poll(engine, *, question: str | None = "Bạn thấy buổi mít tinh thế nào?", options=OPTIONS,
              sent_to: dict[str, datetime] | None = None, status: str = R_SENT) -> int:
    with session_factory(engine).begin() as s:
        b = Broadcast(text="Cảm ơn bạn đã tham gia.", buttons=json.dumps(options, ensure_ascii=False),
                      poll_question=question, start_at=T0, state=DONE, created_by="an")
        s.add(b)
        s.flush()
        for sender, at in (sent_to or {}).items():
            s.add(BroadcastRecipient(broadcast_id=b.id, sender_id=sender, channel=sender.split(":")[0],
                                     province="Nghệ An", status=status, at=at))
        return b.id


def test_one_answer_per_voter_the_latest_wins_and_no_sender_id_is_stored(engine) -> None:
    poll = make_poll(engine, sent_to={"zalo:1": T0})
    assert record_answer(engine, poll, "zalo:1", 0, KEY, T0)
    assert record_answer(engine, poll, "zalo:1", 2, KEY, T0 + timedelta(minutes=1))
    with session_factory(engine)() as s:
        rows = s.query(PollAnswer).all()
    assert len(rows) == 1
    assert rows[0].option == 2 and rows[0].province == "Nghệ An" and rows[0].channel == "zalo"
    assert "zalo:1" not in rows[0].voter and rows[0].voter == voter_token(KEY, poll, "zalo:1")


def test_voter_tokens_differ_between_polls() -> None:
    assert voter_token(KEY, 1, "zalo:1") != voter_token(KEY, 2, "zalo:1")
    assert voter_token(KEY, 1, "zalo:1") != voter_token(b"other", 1, "zalo:1")


@pytest.mark.parametrize("option", [-1, 3, 7])
def test_an_option_outside_the_poll_is_refused(engine, option) -> None:
    poll = make_poll(engine)
    assert record_answer(engine, poll, "zalo:1", option, KEY, T0) is False


def test_a_broadcast_without_poll_takes_no_answer(engine) -> None:
    plain = make_poll(engine, question=None)
    assert record_answer(engine, plain, "zalo:1", 0, KEY, T0) is False
    assert record_answer(engine, 999, "zalo:1", 0, KEY, T0) is False
    with pytest.raises(LookupError):
        poll_results(engine, plain)


def test_counts_are_hidden_below_the_minimum_group(engine) -> None:
    poll = make_poll(engine)
    for i in range(9):
        record_answer(engine, poll, f"zalo:{i}", i % 2, KEY, T0)
    small = poll_results(engine, poll)
    assert small.total == 9 and not small.shown
    assert [o.count for o in small.options] == [None, None, None]
    assert [o.label for o in small.options] == OPTIONS
    record_answer(engine, poll, "zalo:1", 0, KEY, T0)  # a changed answer is not a new voter
    assert poll_results(engine, poll).total == 9
    record_answer(engine, poll, "telegram:77", 2, KEY, T0)
    full = poll_results(engine, poll)
    assert full.total == 10 and full.shown
    assert [o.count for o in full.options] == [6, 3, 1]
    assert poll_results(engine, poll, min_group=20).options[0].count is None


def test_latest_open_poll_is_the_newest_delivered_within_three_days(engine) -> None:
    assert latest_open_poll(engine, "zalo:1", T0) is None
    old = make_poll(engine, sent_to={"zalo:1": T0 - timedelta(days=4)})
    assert latest_open_poll(engine, "zalo:1", T0) is None  # too old
    first = make_poll(engine, sent_to={"zalo:1": T0 - timedelta(days=1)})
    newer = make_poll(engine, options=["Có", "Không"], sent_to={"zalo:1": T0 - timedelta(hours=2)})
    make_poll(engine, question=None, sent_to={"zalo:1": T0 - timedelta(hours=1)})  # no poll in it
    make_poll(engine, sent_to={"zalo:1": T0 - timedelta(minutes=5)}, status=R_PENDING)  # not delivered yet
    assert latest_open_poll(engine, "zalo:1", T0) == (newer, ["Có", "Không"])
    assert latest_open_poll(engine, "zalo:2", T0) is None  # not a recipient
    assert old != first


def test_the_poll_closes_after_three_days(engine) -> None:
    poll = make_poll(engine, sent_to={"messenger:3": T0})
    assert latest_open_poll(engine, "messenger:3", T0 + timedelta(days=3) - timedelta(minutes=1))[0] == poll
    assert latest_open_poll(engine, "messenger:3", T0 + timedelta(days=3, minutes=1)) is None
