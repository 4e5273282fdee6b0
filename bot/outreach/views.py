"""Reading broadcasts back: detached views, progress by outcome, the list; and the error every action raises.

Nothing here writes. `pending` in a status counts recipients not yet finished (those being sent included), so a
progress bar is `1 - pending / recipients`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.db.engine import session_factory
from bot.outreach.models import (
    APPROVED,
    CANCELLED,
    DONE,
    DRAFT,
    R_FAILED,
    R_PENDING,
    R_SENT,
    R_SKIPPED,
    SENDING,
    SKIP_CANCELLED,
    SKIP_DELETED,
    SKIP_EXPIRED,
    SKIP_OPEN_CASE,
    SKIP_OUTSIDE_WINDOW,
    SKIP_QUIET_HOURS,
    SKIP_UNSUBSCRIBED,
    Broadcast,
    BroadcastRecipient,
)
from bot.outreach.rendering import button_labels
from bot.timeutil import aware

R_SENDING = "sending"            # handed to the platform, outcome not yet recorded
INTERRUPTED = "interrupted"      # found `sending` after a crash: not resent (a duplicate to a shared phone is worse)
# The one wording of states and skip reasons: the console, the command line and the report all show these.
STATE_LABELS = {DRAFT: "Bản nháp", APPROVED: "Đã duyệt", SENDING: "Đang gửi", DONE: "Đã gửi xong",
                CANCELLED: "Đã hủy"}
SKIP_LABELS = {SKIP_OUTSIDE_WINDOW: "Ngoài thời hạn nhắn tin của nền tảng", SKIP_UNSUBSCRIBED: "Đã hủy đăng ký",
               SKIP_OPEN_CASE: "Đang có ca tư vấn chưa xong", SKIP_QUIET_HOURS: "Hết thời gian gửi trong giờ nghỉ",
               SKIP_CANCELLED: "Tin đã bị hủy", SKIP_EXPIRED: "Quá thời điểm kết thúc",
               SKIP_DELETED: "Đã yêu cầu xóa dữ liệu", INTERRUPTED: "Gián đoạn khi gửi (không gửi lại để tránh trùng)"}
OTHER_REASON = "Lý do khác"


def skip_label(reason: str) -> str:
    """A skip or failure reason in Vietnamese; an unknown code is shown after "Lý do khác"."""
    return SKIP_LABELS.get(reason) or f"{OTHER_REASON} ({reason})"


class BroadcastError(ValueError):
    """A refused broadcast action; `messages` holds one clear Vietnamese sentence per problem."""

    def __init__(self, messages: list[str] | str) -> None:
        """One message or several."""
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__(" ".join(self.messages))


@dataclass(frozen=True)
class BroadcastView:
    """A stored broadcast, detached from the database."""

    id: int
    text: str
    buttons: tuple[str, ...]
    poll_question: str | None
    topic: str
    province: str | None
    channel: str | None
    start_at: datetime
    end_at: datetime | None
    quiet_hours: str
    state: str
    event_key: str | None
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cancelled_by: str | None
    cancelled_at: datetime | None
    recipients: int | None

    @property
    def state_label(self) -> str:
        """The state in Vietnamese."""
        return STATE_LABELS.get(self.state, self.state)


@dataclass(frozen=True)
class BroadcastStatus:
    """Progress of one broadcast: recipients by outcome (`pending` includes those being sent)."""

    state: str
    recipients: int
    sent: int
    failed: int
    skipped: dict[str, int]
    pending: int

    def as_json(self) -> dict[str, Any]:
        """{"state", "recipients", "sent", "failed", "skipped": {reason: count}}."""
        return {"state": self.state, "recipients": self.recipients, "sent": self.sent, "failed": self.failed,
                "skipped": dict(self.skipped)}

    @property
    def done_share(self) -> float:
        """Share of recipients with an outcome (0..1), for a progress bar."""
        return 1.0 if not self.recipients else (self.recipients - self.pending) / self.recipients


@dataclass(frozen=True)
class BroadcastSummary:
    """One line of the broadcasts list."""

    id: int
    state: str
    topic: str
    province: str | None
    channel: str | None
    start_at: datetime
    created_by: str
    approved_by: str | None
    recipients: int | None
    sent: int
    excerpt: str


def status(engine: Engine, broadcast_id: int) -> BroadcastStatus:
    """Recipients by outcome; skipped by reason."""
    with session_factory(engine)() as s:
        row = s.get(Broadcast, broadcast_id)
        if row is None:
            raise BroadcastError(f"Không có bản tin số {broadcast_id}.")
        counts = s.execute(select(BroadcastRecipient.status, BroadcastRecipient.reason, func.count())
                           .where(BroadcastRecipient.broadcast_id == broadcast_id)
                           .group_by(BroadcastRecipient.status, BroadcastRecipient.reason)).all()
    by_status: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for st, reason, n in counts:
        by_status[st] = by_status.get(st, 0) + n
        if st == R_SKIPPED:
            skipped[reason or "unknown"] = skipped.get(reason or "unknown", 0) + n
    total = sum(by_status.values())
    return BroadcastStatus(row.state, int(row.recipients if row.recipients is not None else total),
                           by_status.get(R_SENT, 0), by_status.get(R_FAILED, 0), skipped,
                           by_status.get(R_PENDING, 0) + by_status.get(R_SENDING, 0))


def _view(row: Broadcast) -> BroadcastView:
    return BroadcastView(int(row.id), row.text, tuple(button_labels(row.buttons)), row.poll_question, row.topic,
                         row.province, row.channel, aware(row.start_at), aware(row.end_at), row.quiet_hours,
                         row.state, row.event_key, row.created_by, aware(row.created_at), row.approved_by,
                         aware(row.approved_at), aware(row.started_at), aware(row.finished_at), row.cancelled_by,
                         aware(row.cancelled_at), row.recipients)


def get_broadcast(engine: Engine, broadcast_id: int) -> BroadcastView:
    """One broadcast; raises BroadcastError when there is none."""
    with session_factory(engine)() as s:
        row = s.get(Broadcast, broadcast_id)
        if row is None:
            raise BroadcastError(f"Không có bản tin số {broadcast_id}.")
        return _view(row)


def list_broadcasts(engine: Engine, limit: int = 100) -> list[BroadcastSummary]:
    """The newest broadcasts first, with how many recipients each reached."""
    with session_factory(engine)() as s:
        rows = list(s.execute(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)).scalars())
        ids = [r.id for r in rows]
        sent = dict(s.execute(select(BroadcastRecipient.broadcast_id, func.count())
                              .where(BroadcastRecipient.broadcast_id.in_(ids), BroadcastRecipient.status == R_SENT)
                              .group_by(BroadcastRecipient.broadcast_id)).all()) if ids else {}
        return [BroadcastSummary(int(r.id), r.state, r.topic, r.province, r.channel, aware(r.start_at), r.created_by,
                                 r.approved_by, r.recipients, int(sent.get(r.id, 0)),
                                 r.text if len(r.text) <= 80 else r.text[:79] + "…") for r in rows]
