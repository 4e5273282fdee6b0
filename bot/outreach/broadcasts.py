"""Broadcasts staff prepare and approve: validation, the draft → approved → sending → done / cancelled states.

What it guarantees:
- a draft that fails any check is refused as a whole (`BroadcastError.messages`, one Vietnamese sentence per
  problem) and nothing is saved;
- the text a recipient receives (`render`: neutral first line, body, poll, how to stop) fits the platform's one
  message on every channel the broadcast targets: a broadcast is never split;
- a broadcast goes out only after a second active staff or supervisor account approved it (never its creator);
- cancelling skips every recipient still pending, and their outbox rows, in the same transaction: nothing
  more goes out (a message already handed to the platform may still arrive).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.content.library import Library
from bot.db.base import Base
from bot.db.engine import session_factory
from bot.outbox.models import PENDING, SKIPPED, OutboxItem
from bot.outreach.audience import members
from bot.outreach.limits import (
    BUTTON_LIMITS,
    BUTTON_TITLE_MAX,
    POLL_OPTIONS_MAX,
    TEXT_LIMITS,
    default_quiet_hours,
    parse_quiet_hours,
)
from bot.outreach.models import (
    APPROVED,
    BROADCAST_KIND,
    CANCELLED,
    DONE,
    DRAFT,
    R_PENDING,
    R_SKIPPED,
    SKIP_CANCELLED,
    TOPIC_NEWS,
    TOPICS,
    Broadcast,
    BroadcastRecipient,
)
from bot.outreach.rendering import Rendered, button_labels, preview, render_parts, sensitive_words
from bot.outreach.views import (
    INTERRUPTED,
    R_SENDING,
    SKIP_LABELS,
    STATE_LABELS,
    BroadcastError,
    BroadcastStatus,
    BroadcastSummary,
    BroadcastView,
    get_broadcast,
    list_broadcasts,
    skip_label,
    status,
)
from bot.senders import PUSH_CHANNELS
from bot.timeutil import aware

__all__ = ["INTERRUPTED", "R_SENDING", "SKIP_LABELS", "STATE_LABELS", "SYSTEM_ACCOUNT", "BroadcastError", "BroadcastStatus",
           "BroadcastSummary", "BroadcastView", "Draft", "Rendered", "approve", "audience_count", "cancel",
           "channels_of", "create", "get_broadcast", "list_broadcasts", "render", "skip_label", "status", "validate"]

SYSTEM_ACCOUNT = "he-thong"      # approves event reminders when BROADCAST_REMINDERS_AUTO=1
STAFF_ROLES = ("staff", "supervisor")
PAST_SLACK = timedelta(minutes=1)
NO_AUDIENCE = "Chưa có người đăng ký nào phù hợp với đối tượng đã chọn (chủ đề, tỉnh, kênh): bản tin sẽ không tới ai."


@dataclass
class Draft:
    """What staff fill in; `province` may be a name before or after the 2025 merger."""

    text: str
    start_at: datetime
    buttons: list[str] = field(default_factory=list)
    poll_question: str | None = None
    topic: str = TOPIC_NEWS
    province: str | None = None
    channel: str | None = None
    end_at: datetime | None = None
    quiet_hours: str = field(default_factory=default_quiet_hours)
    event_key: str | None = None


def channels_of(channel: str | None) -> tuple[str, ...]:
    """The channels a broadcast targets."""
    return (channel,) if channel else PUSH_CHANNELS


def render(item: Draft | BroadcastView | Broadcast, channel: str, library: Library | None = None) -> Rendered:
    """Exactly what a recipient on `channel` receives (the province is taken as stored, or matched for a draft)."""
    province = item.province
    if isinstance(item, Draft) and province and library is not None:
        province = library.provinces.current_of(province) or province
    return render_parts(item.text, button_labels(item.buttons), item.poll_question, province, channel)


def validate(draft: Draft, library: Library, now: datetime) -> list[str]:
    """Every problem with a draft, in Vietnamese (empty when it may be saved); the audience is create's check."""
    errors: list[str] = []
    text = (draft.text or "").strip()
    if not text:
        errors.append("Nội dung bản tin đang để trống: hãy nhập nội dung cần gửi.")
    province = None
    if draft.province and draft.province.strip():
        province = library.provinces.current_of(draft.province.strip())
        if province is None:
            errors.append(f"Không nhận ra tỉnh/thành “{draft.province.strip()}”. Hãy ghi tên tỉnh, thành phố "
                          "(tên mới hoặc tên trước khi sáp nhập năm 2025), ví dụ “Gia Lai” hoặc “Kon Tum”.")
    if draft.topic not in TOPICS:
        errors.append("Chủ đề phải là “news” (tin chiến dịch) hoặc “events” (sự kiện).")
    if draft.channel and draft.channel not in PUSH_CHANNELS:
        errors.append("Kênh phải là zalo, messenger hoặc telegram (hoặc để trống để gửi mọi kênh).")
    start, end = aware(draft.start_at), aware(draft.end_at)
    if start is None:
        errors.append("Hãy chọn thời điểm bắt đầu gửi.")
    elif start < aware(now) - PAST_SLACK:
        errors.append("Thời điểm bắt đầu gửi đã qua: hãy chọn một thời điểm từ bây giờ trở đi.")
    if start is not None and end is not None and end <= start:
        errors.append("Thời điểm kết thúc phải sau thời điểm bắt đầu gửi.")
    try:
        parse_quiet_hours(draft.quiet_hours)
    except ValueError:
        errors.append(f"Giờ yên lặng “{draft.quiet_hours}” không đúng dạng: hãy ghi như “21:00-07:00” "
                      "(giờ Việt Nam) hoặc “off” để tắt.")
    errors += _button_errors(draft)
    if text:
        errors += _length_errors(draft, province)
        found = sensitive_words(preview(text, province))
        if found:
            errors.append("Phần đầu bản tin (dòng đầu và 100 ký tự đầu của nội dung, hiện trên màn hình khóa điện "
                          f"thoại) có từ nhạy cảm: {', '.join(found)}. Nhiều người dùng chung điện thoại với người "
                          "gây hại cho mình; hãy bắt đầu bằng một câu trung tính và đưa nội dung này xuống dưới.")
    return errors


def _button_errors(draft: Draft) -> list[str]:
    labels = button_labels(draft.buttons)
    errors: list[str] = []
    if len(labels) != len(draft.buttons or []):
        errors.append("Có nút trả lời nhanh để trống: hãy xóa hoặc điền nội dung cho nút đó.")
    if draft.poll_question is not None and not draft.poll_question.strip():
        errors.append("Câu hỏi thăm dò đang để trống.")
    if draft.poll_question and not 2 <= len(labels) <= POLL_OPTIONS_MAX:
        errors.append(f"Câu hỏi thăm dò cần từ 2 đến {POLL_OPTIONS_MAX} phương án trả lời (đang có {len(labels)}).")
    channels = channels_of(draft.channel if draft.channel in PUSH_CHANNELS else None)
    for channel in channels:
        limit = BUTTON_LIMITS[channel] - 1  # the "Dừng nhận tin" reply takes one place
        if len(labels) > limit:
            errors.append(f"Quá nhiều nút trả lời nhanh cho {channel}: tối đa {limit} nút (đang có {len(labels)}).")
            break
    if "messenger" in channels:
        long = [b for b in labels if len(b) > BUTTON_TITLE_MAX]
        if long:
            errors.append(f"Nút trả lời nhanh dài quá {BUTTON_TITLE_MAX} ký tự (Messenger sẽ cắt bớt): "
                          + ", ".join(f"“{b}”" for b in long) + ".")
    if len(set(labels)) != len(labels):
        errors.append("Có hai nút trả lời nhanh trùng nhau.")
    return errors


def _length_errors(draft: Draft, province: str | None) -> list[str]:
    errors = []
    for channel in channels_of(draft.channel if draft.channel in PUSH_CHANNELS else None):
        size = len(render_parts(draft.text, button_labels(draft.buttons), draft.poll_question, province,
                                channel).text)
        if size > TEXT_LIMITS[channel]:
            errors.append(f"Bản tin quá dài cho {channel}: {size} ký tự kể cả dòng đầu và dòng cuối, tối đa "
                          f"{TEXT_LIMITS[channel]} (một bản tin không bao giờ bị chia thành nhiều tin). "
                          f"Hãy bớt {size - TEXT_LIMITS[channel]} ký tự.")
    return errors


def _accounts_check(s: Session, by: str, what: str) -> None:
    """Refuse unless `by` is an active staff or supervisor account (the console's accounts table)."""
    table = Base.metadata.tables.get("desk_accounts")
    if table is None:
        raise BroadcastError("Không kiểm tra được tài khoản (bảng tài khoản chưa có).")
    row = s.execute(select(table.c.role, table.c.active).where(table.c.username == (by or "").strip().lower())
                    ).first()
    if row is None or not row.active:
        raise BroadcastError(f"Tài khoản “{by}” không tồn tại hoặc đã bị khóa: không thể {what}.")
    if row.role not in STAFF_ROLES:
        raise BroadcastError(f"Tài khoản “{by}” không có quyền {what} (cần vai trò staff hoặc supervisor).")


def _by(by: str, system: bool) -> str:
    return SYSTEM_ACCOUNT if system else (by or "").strip().lower()


def create(engine: Engine, draft: Draft, by: str, library: Library, now: datetime, *, system: bool = False) -> int:
    """Save a valid draft and return its id; raise BroadcastError (nothing saved) otherwise."""
    errors = validate(draft, library, now)
    province = library.provinces.current_of(draft.province.strip()) if draft.province else None
    with session_factory(engine).begin() as s:
        if not system:
            _accounts_check(s, by, "tạo bản tin")
        if not errors and not members(s, topic=draft.topic, province=province, channel=draft.channel or None):
            errors.append(NO_AUDIENCE)
        if draft.event_key and s.execute(select(Broadcast.id).where(Broadcast.event_key == draft.event_key)).first():
            errors.append("Đã có bản tin nhắc cho sự kiện này.")
        if errors:
            raise BroadcastError(errors)
        row = Broadcast(text=draft.text.strip(), buttons=json.dumps(button_labels(draft.buttons), ensure_ascii=False),
                        poll_question=(draft.poll_question or "").strip() or None, topic=draft.topic,
                        province=province, channel=draft.channel or None, start_at=aware(draft.start_at),
                        end_at=aware(draft.end_at), quiet_hours=_quiet(draft.quiet_hours), state=DRAFT, event_key=draft.event_key, created_by=_by(by, system), created_at=now)
        s.add(row)
        s.flush()
        return int(row.id)


def _quiet(spec: str) -> str:
    """Quiet hours as stored: "off", or "HH:MM-HH:MM"."""
    bounds = parse_quiet_hours(spec)
    return "off" if bounds is None else f"{bounds[0]:%H:%M}-{bounds[1]:%H:%M}"


def _load(s: Session, broadcast_id: int) -> Broadcast:
    row = s.get(Broadcast, broadcast_id, with_for_update=True)
    if row is None:
        raise BroadcastError(f"Không có bản tin số {broadcast_id}.")
    return row


def approve(engine: Engine, broadcast_id: int, by: str, now: datetime, *, system: bool = False) -> None:
    """Approve a draft; by another active staff or supervisor account than its creator."""
    who = _by(by, system)
    with session_factory(engine).begin() as s:
        row = _load(s, broadcast_id)
        if row.state != DRAFT:
            raise BroadcastError(f"Bản tin số {broadcast_id} không còn chờ duyệt (trạng thái: "
                                 f"{STATE_LABELS.get(row.state, row.state).lower()}).")
        # The one exception: an event reminder approved by the system because BROADCAST_REMINDERS_AUTO=1 says so.
        if row.created_by == who and not (system and row.event_key):
            raise BroadcastError("Người tạo bản tin không thể tự duyệt: cần một tài khoản nhân viên khác duyệt.")
        if not system:
            _accounts_check(s, by, "duyệt bản tin")
        if row.end_at is not None and aware(row.end_at) <= aware(now):
            raise BroadcastError("Thời điểm kết thúc của bản tin đã qua: hãy tạo bản tin mới.")
        row.state, row.approved_by, row.approved_at = APPROVED, who, now


def cancel(engine: Engine, broadcast_id: int, by: str, now: datetime, *, system: bool = False) -> int:
    """Cancel a broadcast not yet done; returns how many pending recipients were skipped."""
    with session_factory(engine).begin() as s:
        row = _load(s, broadcast_id)
        if row.state in (DONE, CANCELLED):
            raise BroadcastError(f"Bản tin số {broadcast_id} đã {'gửi xong' if row.state == DONE else 'bị hủy'}, "
                                 "không hủy được nữa.")
        if not system:
            _accounts_check(s, by, "hủy bản tin")
        row.state, row.cancelled_by, row.cancelled_at = CANCELLED, _by(by, system), now
        return skip_pending(s, broadcast_id, SKIP_CANCELLED, now)


def skip_pending(s: Session, broadcast_id: int, reason: str, now: datetime) -> int:
    """Skip the broadcast's pending recipients and their outbox rows not under way (in the caller's transaction)."""
    skipped = s.execute(update(BroadcastRecipient)
                        .where(BroadcastRecipient.broadcast_id == broadcast_id,
                               BroadcastRecipient.status == R_PENDING)
                        .values(status=R_SKIPPED, reason=reason, at=now)
                        .execution_options(synchronize_session=False)).rowcount
    s.execute(update(OutboxItem)
              .where(OutboxItem.kind == BROADCAST_KIND, OutboxItem.status == PENDING,
                     OutboxItem.dedup_key.startswith(f"bc:{broadcast_id}:", autoescape=True),
                     (OutboxItem.lease_until.is_(None)) | (OutboxItem.lease_until <= now))
              .values(status=SKIPPED, last_error=reason).execution_options(synchronize_session=False))
    return int(skipped or 0)


def audience_count(engine: Engine, *, topic: str = TOPIC_NEWS, province: str | None = None,
                   channel: str | None = None, now: datetime | None = None) -> int:
    """How many subscribers a broadcast with this audience would reach if it started now (province canonical)."""
    with session_factory(engine)() as s:
        return len(members(s, topic=topic, province=province or None, channel=channel or None))


