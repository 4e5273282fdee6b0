"""The deletion flow in the action: a request that cannot be recorded is never announced as done."""

from __future__ import annotations

from datetime import date

from rasa_sdk.events import FollowupAction

from actions.actions import ActionDeleteData
from bot import replies
from bot.runtime import fixed_runtime, set_process_runtime
from tests.actions.conftest import make_tracker


async def test_without_the_database_the_resident_is_told_to_ask_again_not_that_it_is_done(
        dispatcher, domain, library) -> None:
    set_process_runtime(fixed_runtime(library, None, today=lambda: date(2026, 11, 22)))
    try:
        events = await ActionDeleteData().run(dispatcher, make_tracker("có", "affirm"), domain)
    finally:
        set_process_runtime(None)
    assert events == [FollowupAction("action_listen")]  # utter_delete_done must not follow
    assert [m["text"] for m in dispatcher.messages] == [replies.DELETE_NOT_RECORDED]


def test_the_deletion_replies_say_what_is_kept_and_stay_neutral(domain) -> None:
    done = domain["responses"]["utter_delete_done"][0]["text"]
    confirm = domain["responses"]["utter_ask_delete_confirm"][0]["text"]
    for reply in (done, confirm, replies.DELETE_NOT_RECORDED):
        assert "113" not in reply and "bạo lực" not in reply  # nothing a person reading her phone could use
    assert "đang hỗ trợ" in done and "kết thúc" in done  # an open case is kept until it is resolved…
    assert "xóa" in done.split("kết thúc", 1)[1]          # …and then deleted too
    assert "đang hỗ trợ" in confirm and "kết thúc" in confirm
