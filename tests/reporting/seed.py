"""A seeded project database and tracker store for the report tests, with the figures worked out by hand.

Period: 15/11/2026 – 21/11/2026 (Vietnam time). Rows outside it are there to be left out. The expected values
are in the tests, next to the arithmetic that gives them.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.cases.models import CLAIMED, DANGER_NOW, NEEDS_SUPPORT, OPEN, RESOLVED, Case, CaseEvent
from bot.db.engine import session_factory
from bot.outreach.models import (
    CANCELLED,
    DONE,
    DRAFT,
    R_FAILED,
    R_PENDING,
    R_SENT,
    R_SKIPPED,
    SENDING,
    SKIP_OPEN_CASE,
    SKIP_OUTSIDE_WINDOW,
    SKIP_UNSUBSCRIBED,
    Broadcast,
    BroadcastRecipient,
    PollAnswer,
    Subscription,
)
from bot.reporting.tables import Period
from bot.review_queue import ReviewItem
from bot.timeutil import VN_TZ

PERIOD = Period(date(2026, 11, 15), date(2026, 11, 21))
HANOI, CANTHO = "Hà Nội", "Cần Thơ"
SENDER_SECRET = "zalo:secret-sender-4242"  # must never appear in any output


def vn(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    """A time in Vietnam on a day of November 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=VN_TZ)


def seed_cases(engine: Engine) -> None:
    """12 cases in the period (7 danger now, 5 needs support) and two outside it."""
    waits = {1: 2, 2: 4, 3: 6, 4: 8, 5: 10, 6: 30}       # danger-now cases D1..D6: minutes to the first claim
    with session_factory(engine).begin() as s:
        for i in range(1, 8):                              # D1..D7
            created = vn(16, 8 + i)
            case = Case(channel="zalo" if i <= 4 else "telegram", sender_id=SENDER_SECRET if i == 1 else f"zalo:d{i}",
                        urgency=DANGER_NOW, status=RESOLVED if i <= 6 else OPEN, created_at=created,
                        updated_at=created, message="Chồng tôi đánh tôi 0912345678", province=HANOI if i <= 5
                        else CANTHO, outcome=("advised" if i <= 5 else "shelter") if i <= 6 else None)
            s.add(case)
            s.flush()
            if i in waits:
                claimed = created + timedelta(minutes=waits[i])
                s.add(CaseEvent(case_id=case.id, at=claimed, kind="claimed", actor="desk:lan"))
                case.claimed_at, case.claimed_by = claimed, "desk:lan"
                case.resolved_at = created + timedelta(hours=2)
            if i == 1:  # handed back and claimed again: the first wait counts
                s.add(CaseEvent(case_id=case.id, at=created + timedelta(minutes=50), kind="claimed", actor="desk:mai"))
                case.claimed_at = created + timedelta(minutes=50)
            if i == 7:
                for k in (1, 2):
                    s.add(CaseEvent(case_id=case.id, at=created + timedelta(minutes=5 * k), kind="reescalated"))
        for i in range(1, 6):                              # N1..N5, messenger, no province
            created = vn(17, 8 + i)
            case = Case(channel="messenger", sender_id=f"messenger:n{i}", urgency=NEEDS_SUPPORT,
                        status=RESOLVED if i == 1 else CLAIMED if i == 2 else OPEN, created_at=created,
                        updated_at=created, message="tôi buồn lắm", province=None)
            s.add(case)
            s.flush()
            if i <= 2:
                claimed = created + timedelta(minutes=20 * i)
                s.add(CaseEvent(case_id=case.id, at=claimed, kind="claimed", actor="desk:lan"))
                case.claimed_at = claimed
            if i == 1:
                case.resolved_at = created + timedelta(hours=1)
            else:
                s.add(CaseEvent(case_id=case.id, at=created + timedelta(minutes=30), kind="reescalated"))
        for when in (vn(10), vn(23)):                      # outside the period
            s.add(Case(channel="zalo", sender_id="zalo:outside", urgency=DANGER_NOW, status=OPEN, created_at=when,
                       updated_at=when, province=HANOI))


def seed_review(engine: Engine) -> None:
    """Unanswered: low confidence 3 + 4 = 7, out of scope 2, fallback 5 (and one item before the period)."""
    rows = [("low_confidence", 3, vn(16)), ("low_confidence", 4, vn(18)), ("out_of_scope", 2, vn(19)),
            ("fallback", 5, vn(20)), ("fallback", 9, vn(3))]
    with session_factory(engine).begin() as s:
        for n, (reason, count, when) in enumerate(rows):
            sender = "messenger:9" if reason == "fallback" and count == 5 else f"zalo:{n + 1}"  # not in Hà Nội
            s.add(ReviewItem(created_at=when, last_seen_at=when, sender_id=sender, channel="zalo",
                             text="câu hỏi riêng tư của chị Hoa", norm="x", count=count, reason=reason))


def _broadcast(s, state: str, start: datetime, text_: str, **kw) -> int:
    b = Broadcast(text=text_, state=state, start_at=start, started_at=start if state != DRAFT else None,
                  created_by="hoa", **kw)
    s.add(b)
    s.flush()
    return int(b.id)


def seed_outreach(engine: Engine) -> dict[str, int]:
    """Broadcasts, recipients in each state, polls with 12 and 4 answers, subscriptions."""
    ids = {}
    with session_factory(engine).begin() as s:
        ids["b1"] = _broadcast(s, DONE, vn(17, 9), "Mời bạn dự lễ phát động Tháng hành động tại nhà văn hóa")
        people = ([(R_SENT, None)] * 8 + [(R_SKIPPED, SKIP_OUTSIDE_WINDOW)] * 2 + [(R_SKIPPED, SKIP_OPEN_CASE)] * 6
                  + [(R_FAILED, "zalo:-230")] + [(R_SKIPPED, SKIP_UNSUBSCRIBED)])
        for n, (status, reason) in enumerate(people):
            s.add(BroadcastRecipient(broadcast_id=ids["b1"], sender_id=f"zalo:r{n}", channel="zalo",
                                     province=HANOI if n < 10 else CANTHO, status=status, reason=reason,
                                     at=vn(17, 9, n)))
        ids["b2"] = _broadcast(s, DONE, vn(18, 9), "Bạn thấy buổi đối thoại thế nào?", poll_question="Buổi đối thoại?",
                               buttons=json.dumps(["Rất hữu ích", "Bình thường", "Chưa hữu ích"]), province=HANOI)
        for n in range(12):
            s.add(BroadcastRecipient(broadcast_id=ids["b2"], sender_id=f"telegram:p{n}", channel="telegram",
                                     province=HANOI, status=R_SENT, at=vn(18, 9)))
        for n, option in enumerate([0] * 7 + [1] * 3 + [2] * 2):
            s.add(PollAnswer(broadcast_id=ids["b2"], voter=f"v{n}", option=option, province=HANOI, channel="telegram",
                             answered_at=vn(18, 10)))
        ids["b3"] = _broadcast(s, SENDING, vn(20, 9), "Câu hỏi nhanh về tuyên truyền ở xã", channel="zalo",
                               poll_question="Bạn đã nghe loa phát thanh chưa?", buttons=json.dumps(["Rồi", "Chưa"]))
        for n, status in enumerate([R_SENT] * 2 + [R_PENDING] * 3):
            s.add(BroadcastRecipient(broadcast_id=ids["b3"], sender_id=f"zalo:q{n}", channel="zalo",
                                     province=CANTHO, status=status))
        for n in range(4):
            s.add(PollAnswer(broadcast_id=ids["b3"], voter=f"w{n}", option=n % 2, channel="zalo",
                             answered_at=vn(20, 10)))
        ids["draft"] = _broadcast(s, DRAFT, vn(19), "Bản nháp chưa duyệt")
        ids["old"] = _broadcast(s, DONE, vn(2), "Tin tháng trước")
        ids["cancelled_late"] = _broadcast(s, CANCELLED, vn(25), "Tin sau kỳ báo cáo")
        for n in range(1, 7):
            s.add(Subscription(sender_id=f"zalo:{n}", channel="zalo", topics="news", province=HANOI,
                               consent_text="Đồng ý nhận tin", consented_at=vn(15, 12), active=True))
        for n in range(1, 6):
            stopped = n <= 2
            s.add(Subscription(sender_id=f"messenger:{n}", channel="messenger", topics="news", province=CANTHO,
                               consent_text="Đồng ý nhận tin", consented_at=vn(1, 12), active=not stopped,
                               unsubscribed_at=vn(19) if stopped else None))
        s.add(Subscription(sender_id="telegram:1", channel="telegram", topics="news", province=None,
                           consent_text="Đồng ý", consented_at=vn(16), active=False, unsubscribed_at=vn(25)))
    return ids


def _event(sender: str, kind: str, at: datetime, intent: str | None = None, topic: str | None = None,
           slot: tuple[str, str] | None = None) -> dict:
    data: dict = {"event": kind, "timestamp": at.timestamp()}
    if kind == "user":
        data.update(text="tin nhắn riêng của chị Hoa 0912345678",
                    parse_data={"intent": {"name": intent}, "response_selector": {
                        "faq": {"response": {"intent_response_key": f"faq/{topic}"}}} if topic else {}})
    if slot:
        data.update(name=slot[0], value=slot[1])
    return {"sender_id": sender, "type_name": kind, "timestamp": at.timestamp(), "intent_name": intent,
            "data": json.dumps(data, ensure_ascii=False)}


def seed_tracker(path: Path) -> Engine:
    """Rasa's `events` table: zalo 6 residents × 1 session, messenger 5 × 2 sessions, telegram 2 × 1."""
    events = []
    for n in range(1, 7):
        sender, at = f"zalo:{n}", vn(16, 9, n)
        events += [_event(sender, "session_started", at), _event(sender, "user", at, "faq", "dv_law_2022"),
                   _event(sender, "bot", at), _event(sender, "user", at + timedelta(minutes=1), "ask_hotline")]
        if n <= 3:
            events.append(_event(sender, "slot", at, slot=("province", "ha noi")))
    for n in range(1, 6):
        sender = f"messenger:{n}"
        for hour in (9, 15):
            at = vn(17, hour, n)
            events += [_event(sender, "session_started", at), _event(sender, "user", at, "greet")]
        events.append(_event(sender, "user", vn(17, 15, n + 1), "faq", "dv_law_2022"))
    for n in (1, 2):
        at = vn(18, 9, n)
        events += [_event(f"telegram:{n}", "session_started", at), _event(f"telegram:{n}", "user", at, "ask_events")]
    events += [_event("rest:early", "user", vn(14, 23), "ask_events"),     # 14/11 23:00 Vietnam: before
               _event("zalo:late", "user", vn(22, 0, 1), "ask_events")]     # 22/11 00:01 Vietnam: after
    engine = create_engine(f"sqlite:///{path}", future=True)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                          "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                          "action_name VARCHAR(255), data TEXT)"))
        conn.execute(text("INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
                          "VALUES (:sender_id, :type_name, :timestamp, :intent_name, :data)"), events)
    engine.dispose()
    return engine


def seed_all(engine: Engine, tracker_path: Path) -> dict[str, int]:
    """Everything above; returns the broadcasts' ids."""
    seed_cases(engine)
    seed_review(engine)
    seed_tracker(tracker_path)
    return seed_outreach(engine)
