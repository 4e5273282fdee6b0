"""Escalation cases are durable, deduplicated per message, and spooled when the database is down."""

from pathlib import Path

from bot.cases.escalate import record_case
from bot.cases.models import CLAIMED, OPEN
from bot.cases.spool import drain_spool
from bot.cases.store import CaseRequest, CaseStore
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.senders import channel_of


def _req(sender: str = "zalo:42", urgency: str = "danger_now", message_id: str | None = None,
         text: str = "cứu tôi") -> CaseRequest:
    return CaseRequest(channel=channel_of(sender), sender_id=sender, urgency=urgency, message=text,
                       reasons=("kêu cứu",), province="Cần Thơ", message_id=message_id)


def test_open_case_writes_every_field(store: CaseStore) -> None:
    case, created = store.open_case(_req())
    assert created
    stored = store.get(case.id).to_dict()
    assert stored["channel"] == "zalo" and stored["sender_id"] == "zalo:42"
    assert stored["urgency"] == "danger_now" and stored["status"] == OPEN
    assert stored["message"] == "cứu tôi" and stored["reasons"] == ["kêu cứu"]
    assert stored["created_at"].endswith("+00:00")
    assert [e.kind for e in store.events(case.id)] == ["created"]


def test_same_message_id_does_not_open_a_second_case(store: CaseStore) -> None:
    first, _ = store.open_case(_req(message_id="m1"))
    again, created = store.open_case(_req(message_id="m1"))
    assert not created and again.id == first.id
    assert len(store.list_cases()) == 1


def test_new_message_joins_the_active_case_and_raises_urgency(store: CaseStore) -> None:
    case, _ = store.open_case(_req(urgency="needs_support", message_id="a"))
    same, created = store.open_case(_req(urgency="danger_now", message_id="b", text="nó quay lại rồi"))
    assert not created and same.id == case.id
    assert store.get(case.id).urgency == "danger_now"
    kinds = [e.kind for e in store.events(case.id)]
    assert kinds == ["created", "urgency_raised", "resident_message"]


def test_list_filters_and_order(store: CaseStore) -> None:
    a, _ = store.open_case(_req(sender="zalo:1"))
    b, _ = store.open_case(_req(sender="messenger:2", urgency="needs_support"))
    assert [c.id for c in store.list_cases()] == [b.id, a.id]
    assert [c.id for c in store.list_cases(sender_id="zalo:1")] == [a.id]
    assert [c.id for c in store.list_cases(urgency="needs_support")] == [b.id]
    assert [c.id for c in store.list_cases(channel="messenger")] == [b.id]
    assert store.list_cases(status=CLAIMED) == []


def test_channel_of() -> None:
    assert channel_of("telegram:5") == "telegram"
    assert channel_of("abc-123") == "rest"
    assert channel_of("weird:1") == "rest"


def test_database_down_spools_and_drain_imports(tmp_path: Path) -> None:
    broken = CaseStore(make_engine(f"sqlite:///{tmp_path / 'missing' / 'nodir' / 'x.db'}"))
    broken.engine.dispose()
    spool = tmp_path / "spool" / "cases.jsonl"
    # No tables exist in this database, so the write fails and the case goes to the spool.
    assert record_case(broken, _req(message_id="s1"), spool=spool) is None
    assert spool.exists() and "s1" in spool.read_text(encoding="utf-8")

    good = make_engine(f"sqlite:///{tmp_path / 'good.db'}")
    init_db(good)
    store = CaseStore(good)
    assert drain_spool(store, spool) == 1
    assert not spool.exists()
    [case] = store.list_cases()
    assert case.message_id == "s1" and "ghi tạm khi CSDL gián đoạn" in case.reasons
    assert drain_spool(store, spool) == 0
