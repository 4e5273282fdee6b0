"""Escalation cases are durable, deduplicated per message, and spooled when the database is down."""

from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from bot.cases.escalate import escalate_case, record_case
from bot.cases.models import CLAIMED, OPEN
from bot.cases.spool import drain_spool, spool_case
from bot.cases.store import CaseLimits, CaseRequest, CaseStore
from bot.channels.safety_net import safety_reply
from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.runtime import fixed_runtime
from bot.senders import channel_of
from bot.text import MAX_MESSAGE_CHARS
from bot.timeutil import utcnow
from bot.triage import TriageResult


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


def test_a_case_keeps_at_most_max_message_chars_of_resident_text(store: CaseStore) -> None:
    case, _ = store.open_case(_req(text="cứu " * 300_000))
    assert len(store.get(case.id).message) == MAX_MESSAGE_CHARS == 4000
    joined, _ = store.open_case(_req(message_id="long-2", text="x" * 10_000))
    assert len([e for e in store.events(joined.id) if e.kind == "resident_message"][0].detail) == 4000


def test_the_same_message_joining_an_open_case_is_one_event(store: CaseStore) -> None:
    case, _ = store.open_case(_req(message_id="first"))
    store.open_case(_req(message_id="again", text="nó quay lại"))
    store.open_case(_req(message_id="again", text="nó quay lại"))  # the channel redelivered it
    assert [e.detail for e in store.events(case.id) if e.kind == "resident_message"] == ["nó quay lại"]
    assert _kinds_queued(store, case.id).count("tg_forward") == 1


def _kinds_queued(store: CaseStore, case_id: int) -> list[str]:
    with store.engine.connect() as c:
        return list(c.execute(text("SELECT kind FROM outbox WHERE case_id = :c ORDER BY id"), {"c": case_id}).scalars())


def _resolve_all(store: CaseStore) -> None:
    with store.engine.begin() as c:
        c.execute(text("UPDATE cases SET status = 'resolved', resolved_at = created_at"))


def test_a_new_urgent_message_joins_the_open_case_with_its_forward(store: CaseStore) -> None:
    case, _ = store.open_case(_req(message_id="1"))
    same, created = store.open_case(_req(message_id="2", text="lại nữa"))
    assert not created and same.id == case.id and len(store.list_cases()) == 1
    assert _kinds_queued(store, case.id) == ["tg_card", "tg_forward"]


def test_past_the_per_sender_ceiling_messages_reopen_the_latest_case(engine) -> None:
    store = CaseStore(engine, CaseLimits(per_sender=3))
    ids = []
    for i in range(3):
        case, created = store.open_case(_req(message_id=f"c{i}"))
        assert created
        ids.append(case.id)
        _resolve_all(store)
    fourth, created = store.open_case(_req(message_id="c3", text="cứu, nó lại đánh"))
    assert not created and fourth.id == ids[-1] and len(store.list_cases()) == 3
    latest = store.get(ids[-1])
    assert latest.status == OPEN and latest.resolved_at is None
    kinds = [e.kind for e in store.events(latest.id)]
    assert kinds[-2:] == ["reopened", "resident_message"]
    assert _kinds_queued(store, latest.id)[-2:] == ["tg_refresh", "tg_forward"]
    # Once the window has passed, a new case opens again.
    _resolve_all(store)
    with engine.begin() as c:
        c.execute(text("UPDATE cases SET created_at = :t"), {"t": utcnow() - timedelta(hours=25)})
    _, created = store.open_case(_req(message_id="c4"))
    assert created


def test_a_flood_of_new_cases_marks_needs_support_but_never_danger_or_loses_one(engine) -> None:
    store = CaseStore(engine, CaseLimits(flood_threshold=5, flood_window=timedelta(minutes=10)))
    for i in range(5):
        case, created = store.open_case(_req(sender=f"zalo:junk{i}", urgency="needs_support"))
        assert created and not case.flood
    support, created = store.open_case(_req(sender="zalo:real", urgency="needs_support"))
    assert created and store.get(support.id).flood and store.get(support.id).to_dict()["flood"] is True
    danger, created = store.open_case(_req(sender="zalo:danger", urgency="danger_now"))
    assert created and not store.get(danger.id).flood
    assert _kinds_queued(store, support.id) == ["tg_card"] and _kinds_queued(store, danger.id) == ["tg_card"]
    with engine.begin() as c:
        c.execute(text("UPDATE cases SET created_at = :t"), {"t": utcnow() - timedelta(minutes=11)})
    calm, _ = store.open_case(_req(sender="zalo:later", urgency="needs_support"))
    assert not store.get(calm.id).flood


def test_a_flood_on_one_channel_leaves_the_other_channels_unmarked(engine) -> None:
    store = CaseStore(engine, CaseLimits(flood_threshold=5, flood_window=timedelta(minutes=10)))
    for i in range(8):
        store.open_case(_req(sender=f"rest:junk{i}", urgency="needs_support"))
    assert store.get(store.open_case(_req(sender="rest:more", urgency="needs_support"))[0].id).flood
    zalo, created = store.open_case(_req(sender="zalo:real", urgency="needs_support"))
    assert created and not store.get(zalo.id).flood


def test_case_limits_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CASE_LIMIT_PER_SENDER", "5")
    monkeypatch.setenv("CASE_FLOOD_THRESHOLD", "abc")
    monkeypatch.setenv("CASE_FLOOD_WINDOW_MINUTES", "20")
    limits = CaseLimits.from_env()
    assert limits.per_sender == 5 and limits.flood_threshold == 30
    assert limits.flood_window == timedelta(minutes=20) and limits.per_sender_window == timedelta(hours=24)


def test_a_rate_limited_escalation_is_still_recorded(engine) -> None:
    store = CaseStore(engine, CaseLimits(per_sender=1))
    assert escalate_case(store, _req(message_id="e1"))[1]
    _resolve_all(store)
    case_id, recorded = escalate_case(store, _req(message_id="e2"))
    assert recorded and case_id == store.list_cases()[0].id


def _claim(store: CaseStore, case_id: int) -> None:
    with store.engine.begin() as c:
        c.execute(text("UPDATE cases SET status = 'claimed', claimed_by = 'Chị Lan <desk:lan>' WHERE id = :i"),
                  {"i": case_id})


def _joined(store: CaseStore, case_id: int) -> list[str]:
    return [e.detail for e in store.events(case_id) if e.kind == "resident_message"]


def test_the_action_path_joins_a_claimed_case(store: CaseStore, library) -> None:
    case, _ = store.open_case(_req(message_id="act-1"))
    _claim(store, case.id)
    runtime = fixed_runtime(library, store)
    case_id, recorded = runtime.escalate("zalo:42", "nó lại đánh tôi", TriageResult("danger_now", ("kêu cứu",)),
                                         None, "act-2")
    assert recorded and case_id == case.id and len(store.list_cases()) == 1
    assert _joined(store, case.id) == ["nó lại đánh tôi"] and store.get(case.id).status == CLAIMED


def test_the_spool_path_joins_the_open_case(store: CaseStore, tmp_path: Path) -> None:
    case, _ = store.open_case(_req(message_id="sp-1"))
    spool = tmp_path / "spool" / "cases.jsonl"
    spool_case(_req(message_id="sp-2", text="tôi vẫn đang sợ"), spool)
    assert drain_spool(store, spool) == 1
    assert len(store.list_cases()) == 1 and _joined(store, case.id) == ["tôi vẫn đang sợ"]
    _claim(store, case.id)
    spool_case(_req(message_id=None, text="anh ta quay lại"), spool)  # no message id: the spool gives one
    assert drain_spool(store, spool) == 1
    assert len(store.list_cases()) == 1 and _joined(store, case.id)[-1] == "anh ta quay lại"


def test_the_safety_net_path_joins_a_claimed_case(store: CaseStore, library) -> None:
    case, _ = store.open_case(_req(message_id="net-1"))
    _claim(store, case.id)
    reply = safety_reply(library, store, "zalo:42", "cứu tôi với", TriageResult("danger_now", ("kêu cứu",)),
                         message_id="net-2")
    assert "113" in reply and len(store.list_cases()) == 1
    assert _joined(store, case.id) == ["cứu tôi với"] and store.get(case.id).status == CLAIMED
    kinds = [e.kind for e in store.events(case.id)]
    assert kinds.count("created") == 1 and "resident_message" in kinds


def test_a_resolved_case_does_not_take_a_new_message(store: CaseStore) -> None:
    case, _ = store.open_case(_req(message_id="r-1"))
    _resolve_all(store)
    again, created = store.open_case(_req(message_id="r-2", text="em lại bị đánh"))
    assert created and again.id != case.id
