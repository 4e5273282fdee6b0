"""Zalo poll answers: a typed "2" or an option's label becomes /poll_option_N only while that sender has a poll open."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.cases.models import CLAIMED, Case
from bot.cases.store import CaseRequest, CaseStore
from bot.channels.poll_reply import map_poll_reply, poll_choice
from bot.channels.zalo import ZaloInput
from bot.db.engine import session_factory
from bot.outreach.models import DONE, R_SENT, Broadcast, BroadcastRecipient
from bot.timeutil import utcnow
from tests.channels.harness import ZALO_APP_ID, ZALO_OA_KEY, channel_env, start_stack, wait_processed
from tests.fakes.zalo_api import signed, text_event
from tests.sending import conftest as platform_fixtures

http, zalo = platform_fixtures.http, platform_fixtures.zalo  # the fake platforms
OPTIONS = ["Rất hữu ích", "Bình thường", "Chưa hữu ích"]


def open_poll(engine, sender: str, sent_ago: timedelta = timedelta(hours=1)) -> int:
    now = utcnow()
    with session_factory(engine).begin() as s:
        b = Broadcast(text="Buổi đối thoại", buttons=json.dumps(OPTIONS, ensure_ascii=False),
                      poll_question="Bạn thấy thế nào?", start_at=now, state=DONE, created_by="an")
        s.add(b)
        s.flush()
        s.add(BroadcastRecipient(broadcast_id=b.id, sender_id=sender, channel="zalo", status=R_SENT,
                                 at=now - sent_ago))
        return b.id


@pytest.mark.parametrize("typed, chosen", [("2", 2), (" 3 ", 3), ("số 1", 1), ("Rất hữu ích", 1),
                                           ("rat huu ich", 1), ("BÌNH THƯỜNG!", 2), ("4", None), ("0", None),
                                           ("12", None), ("rất hữu ích cho chị em", None), ("", None)])
def test_poll_choice_reads_a_number_or_an_exact_label(typed, chosen) -> None:
    assert poll_choice(typed, OPTIONS) == chosen


def test_mapping_needs_an_open_poll_for_that_sender(engine) -> None:
    now = utcnow()
    assert map_poll_reply(engine, "zalo:u1", "2", now) is None  # no poll at all
    open_poll(engine, "zalo:u1", sent_ago=timedelta(days=4))
    assert map_poll_reply(engine, "zalo:u1", "2", now) is None  # closed
    open_poll(engine, "zalo:u1")
    assert map_poll_reply(engine, "zalo:u1", "2", now) == "/poll_option_2"
    assert map_poll_reply(engine, "zalo:u2", "2", now) is None  # another resident's poll


def test_an_urgent_reply_or_a_claimed_conversation_is_never_mapped(engine) -> None:
    open_poll(engine, "zalo:u1")
    assert map_poll_reply(engine, "zalo:u1", "2 chồng đang đánh em", utcnow()) is None
    store = CaseStore(engine)
    case, _ = store.open_case(CaseRequest(channel="zalo", sender_id="zalo:u1", urgency="needs_support",
                                          message="x", reasons=("r",)))
    assert map_poll_reply(engine, "zalo:u1", "2", utcnow()) == "/poll_option_2"  # open, not yet claimed
    with session_factory(engine).begin() as s:
        s.get(Case, case.id).status = CLAIMED
    assert map_poll_reply(engine, "zalo:u1", "2", utcnow()) is None


@pytest.fixture
async def stack(zalo, http, engine, library):
    s = await start_stack(ZaloInput, engine, library, channel_env(zalo=zalo), http)
    yield s
    await s.stop()


async def test_zalo_typed_number_reaches_the_assistant_as_the_poll_intent(stack, zalo, engine) -> None:
    raw, headers = signed(text_event(ZALO_APP_ID, "u1", "2", msg_id="m-1"), ZALO_OA_KEY)
    assert (await stack.post(raw, headers))[0] == 200
    await wait_processed(engine, 1)
    open_poll(engine, "zalo:u1")
    raw, headers = signed(text_event(ZALO_APP_ID, "u1", "2", msg_id="m-2"), ZALO_OA_KEY)
    assert (await stack.post(raw, headers))[0] == 200
    raw, headers = signed(text_event(ZALO_APP_ID, "u1", "bình thường", msg_id="m-3"), ZALO_OA_KEY)
    assert (await stack.post(raw, headers))[0] == 200
    await wait_processed(engine, 3)
    assert stack.bot.texts_of("zalo:u1") == ["2", "/poll_option_2", "/poll_option_2"]
