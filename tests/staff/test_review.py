"""The review queue: capture (masked, never from escalated senders), list, assign, new topic, dismiss."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.cases.store import CaseRequest, CaseStore
from bot.db.engine import session_factory
from bot.review_queue import ReviewItem, record_unanswered
from bot.staff import review


def test_captured_message_is_masked_and_listed(store: CaseStore) -> None:
    item = record_unanswered(store, "zalo:1", "Tên tôi là Lan, sđt 0912345678, thời tiết mai thế nào",
                             "nlu_fallback", 0.3)
    assert item is not None
    pending = review.list_pending(store.engine)
    assert [p["text"] for p in pending] == ["Tên tôi là [tên], sđt [số điện thoại], thời tiết mai thế nào"]
    assert pending[0]["reason"] == "low_confidence"
    assert "sender_id" not in pending[0]
    with session_factory(store.engine)() as s:
        stored = s.execute(select(ReviewItem.text)).scalars().all()
    assert stored == [pending[0]["text"]], "the raw text must never be stored"


def test_never_from_a_sender_with_a_case(store: CaseStore) -> None:
    store.open_case(CaseRequest("zalo", "zalo:9", "needs_support", "…", ("test",)))
    assert record_unanswered(store, "zalo:9", "cho hỏi lịch sự kiện ở xã", "nlu_fallback", 0.2) is None
    assert review.list_pending(store.engine) == []


def test_escalation_after_capture_removes_the_message(store: CaseStore) -> None:
    assert record_unanswered(store, "zalo:5", "cho hỏi về chuyện nhà chồng", "nlu_fallback", 0.2)
    assert record_unanswered(store, "zalo:6", "thời tiết mai thế nào", "out_of_scope", 0.8)
    store.open_case(CaseRequest("zalo", "zalo:5", "needs_support", "…", ("test",)))
    assert [p["text"] for p in review.list_pending(store.engine)] == ["thời tiết mai thế nào"]
    with session_factory(store.engine)() as s:
        assert s.execute(select(ReviewItem).where(ReviewItem.sender_id == "zalo:5")).first() is None


def test_urgent_and_empty_messages_are_not_kept(store: CaseStore) -> None:
    assert record_unanswered(store, "zalo:1", "chồng tôi đang đánh tôi", "nlu_fallback", 0.3) is None
    assert record_unanswered(store, "zalo:1", "👍", "nlu_fallback", 0.1) is None
    assert record_unanswered(None, "zalo:1", "hỏi gì đó", "nlu_fallback", 0.1) is None


def test_identical_messages_are_grouped(store: CaseStore) -> None:
    for sender in ("zalo:1", "zalo:2", "zalo:2"):
        record_unanswered(store, sender, "thoi tiet mai the nao", "nlu_fallback", 0.3)
    record_unanswered(store, "zalo:3", "giá vàng hôm nay", "out_of_scope", 0.9)
    pending = review.list_pending(store.engine)
    assert [(p["text"], p["count"]) for p in pending] == [("thoi tiet mai the nao", 3), ("giá vàng hôm nay", 1)]
    review.dismiss(store.engine, pending[0]["id"], "lan")
    assert [p["text"] for p in review.list_pending(store.engine)] == ["giá vàng hôm nay"]


def test_assign_appends_the_example(store: CaseStore, repo: Path, day: date) -> None:
    item = record_unanswered(store, "zalo:1", "lam the nao de len ke hoach thoat than khi bi de doa",
                             "nlu_fallback", 0.3)
    outcome = review.assign(store.engine, item, "safety_plan", "lan", repo / "content", repo / "data" / "nlu", day)
    topic = yaml.safe_load((repo / "content" / "faq" / "safety_plan.yml").read_text(encoding="utf-8"))
    assert topic["examples"][-1] == "lam the nao de len ke hoach thoat than khi bi de doa"
    assert outcome.item["status"] == "assigned" and outcome.item["topic"] == "safety_plan"
    assert review.list_pending(store.engine) == []
    with pytest.raises(review.ReviewError):
        review.assign(store.engine, item, "safety_plan", "lan", repo / "content", repo / "data" / "nlu", day)


def test_assign_refuses_masked_text_and_duplicates(store: CaseStore, repo: Path, day: date) -> None:
    item = record_unanswered(store, "zalo:1", "chị Mai ơi kế hoạch an toàn là gì", "nlu_fallback", 0.3)
    with pytest.raises(review.ReviewError, match=r"\[tên\]"):
        review.assign(store.engine, item, "safety_plan", "lan", repo / "content", repo / "data" / "nlu", day)
    existing = yaml.safe_load((repo / "content" / "faq" / "help_a_friend.yml").read_text(encoding="utf-8"))
    before = (repo / "content" / "faq" / "safety_plan.yml").read_bytes()
    with pytest.raises(review.ReviewError, match="trùng"):
        review.assign(store.engine, item, "safety_plan", "lan", repo / "content", repo / "data" / "nlu", day,
                      text=existing["examples"][0])
    assert (repo / "content" / "faq" / "safety_plan.yml").read_bytes() == before
    with pytest.raises(review.ReviewError, match="không có chủ đề"):
        review.assign(store.engine, item, "khong_co", "lan", repo / "content", repo / "data" / "nlu", day)
    outcome = review.assign(store.engine, item, "safety_plan", "lan", repo / "content", repo / "data" / "nlu", day,
                            text="kế hoạch an toàn gồm những gì vậy chị")
    assert outcome.item["status"] == "assigned"


def test_create_topic_from_a_message(store: CaseStore, repo: Path, day: date) -> None:
    item = record_unanswered(store, "zalo:1", "ly hôn thì ai được nuôi con", "nlu_fallback", 0.3)
    outcome = review.create_topic(store.engine, item, "custody", "Ly hôn thì ai nuôi con?",
                                  "Theo Luật Hôn nhân và gia đình, hai bên thỏa thuận; nếu không, Tòa án quyết định.",
                                  "Luật Hôn nhân và gia đình số 52/2014/QH13, Điều 81", "lan",
                                  repo / "content", repo / "data" / "nlu", day)
    data = yaml.safe_load((repo / "content" / "faq" / "custody.yml").read_text(encoding="utf-8"))
    assert data == {"topic": "custody", "title": "Ly hôn thì ai nuôi con?",
                    "answer": "Theo Luật Hôn nhân và gia đình, hai bên thỏa thuận; nếu không, Tòa án quyết định.",
                    "source": "Luật Hôn nhân và gia đình số 52/2014/QH13, Điều 81", "checked": day,
                    "examples": ["ly hôn thì ai được nuôi con"]}
    assert any("ít nhất 10" in w for w in outcome.warnings)
    assert outcome.item["status"] == "new_topic"


def test_create_topic_refuses_unknown_phone(store: CaseStore, repo: Path, day: date) -> None:
    item = record_unanswered(store, "zalo:1", "ly hôn thì ai được nuôi con", "nlu_fallback", 0.3)
    with pytest.raises(review.ReviewError, match="0999888777"):
        review.create_topic(store.engine, item, "custody", "Ly hôn", "Gọi 0999888777.", "Luật", "lan",
                            repo / "content", repo / "data" / "nlu", day)
    assert not (repo / "content" / "faq" / "custody.yml").exists()
    assert [p["id"] for p in review.list_pending(store.engine)] == [item]


def test_purge_handled(store: CaseStore) -> None:
    item = record_unanswered(store, "zalo:1", "giá vàng hôm nay", "out_of_scope", 0.9)
    review.dismiss(store.engine, item, "lan")
    assert review.purge_handled(store.engine, timedelta(days=90)) == 0
    assert review.purge_handled(store.engine, timedelta(days=-1)) == 1
