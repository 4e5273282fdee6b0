"""Vietnamese texts of the desk: the Telegram case card, notices, and what residents are told.

A resident's text leaves the console (to the Telegram group) only as a short excerpt with phone
numbers, e-mails, names and home addresses masked; the full text stays in the console behind login.
Masking only ever sees a bounded prefix of the text, so a huge message costs no more than a short one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta

from bot.cases.models import CLAIMED, OPEN, RESOLVED, Case
from bot.masking import mask_addresses, mask_names
from bot.text import mask_pii
from bot.timeutil import vn_time

URGENCY_LABELS = {"danger_now": "🔴 NGUY HIỂM NGAY", "needs_support": "🟠 CẦN HỖ TRỢ"}
URGENCY_SHORT = {"danger_now": "Nguy hiểm ngay", "needs_support": "Cần hỗ trợ"}
STATUS_LABELS = {OPEN: "Chưa có người nhận", CLAIMED: "Đã nhận", RESOLVED: "Đã xử lý"}
CHANNEL_LABELS = {"zalo": "Zalo", "messenger": "Messenger", "telegram": "Telegram", "rest": "Web (REST)"}
EXCERPT = 300
_TAIL = re.compile(r"\S{0,64}$")
_TAIL_NUMBER = re.compile(r"[\d\s.,()+/\-]*$")


def urgency_label(urgency: str) -> str:
    """Label with colour dot for an urgency."""
    return URGENCY_LABELS.get(urgency, urgency)


def channel_label(channel: str) -> str:
    """Human name of a channel."""
    return CHANNEL_LABELS.get(channel, channel)


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """Masked, shortened resident text (contacts, names, home addresses) for Telegram and lists."""
    text = text or ""
    if len(text) > 4 * limit:
        # Cut before masking (masking is the costly part), then drop the last, possibly cut, word and any
        # digits before it, so no half phone number or e-mail escapes its mask.
        text = _TAIL_NUMBER.sub("", _TAIL.sub("", text[: 4 * limit]))
        text += " …"
    text = mask_names(mask_addresses(mask_pii(text))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def actor_name(label: str | None) -> str:
    """The readable part of an actor label `Tên <key>`."""
    if not label:
        return "—"
    return label.rsplit(" <", 1)[0] if label.endswith(">") and " <" in label else label


@dataclass(frozen=True)
class CardExtras:
    """State shown on the card beyond the case row."""

    reescalations: int = 0
    stale: bool = False
    resolved_by: str | None = None


def render_card(case: Case, case_url: str, extras: CardExtras = CardExtras()) -> str:
    """The case card (HTML parse mode; every value escaped)."""
    e = html.escape
    reasons = "; ".join(r for r in (case.reasons or "").split("; ") if r) or "—"
    lines = [
        f"<b>{e(urgency_label(case.urgency))}</b> · Ca #{case.id}",
        f"Kênh: {e(channel_label(case.channel))} · Lúc: {e(vn_time(case.created_at))}",
    ]
    if case.province:
        lines.append(f"Tỉnh/thành: {e(case.province)}")
    lines += [
        f"Tin nhắn: «{e(excerpt(case.message))}»",
        f"Lý do gắn cờ: {e(reasons)}",
        f"Xem ca: {e(case_url)}",
        "",
    ]
    if case.status == OPEN:
        status = "⏳ Chưa có người nhận"
        if extras.reescalations:
            status += f" (đã nhắc lại {extras.reescalations} lần)"
    elif case.status == CLAIMED:
        status = f"✋ Đã nhận: {e(actor_name(case.claimed_by))} lúc {e(vn_time(case.claimed_at, False))}"
        if extras.stale:
            status += "\n⚠️ Đã nhận quá 1 ngày mà chưa xử lý xong"
    else:
        who = f" bởi {e(actor_name(extras.resolved_by))}" if extras.resolved_by else ""
        status = f"✅ Đã xử lý{who} lúc {e(vn_time(case.resolved_at, False))}"
        if case.claimed_by:
            status += f"\n(Người nhận: {e(actor_name(case.claimed_by))})"
    lines.append(f"Trạng thái: {status}")
    return "\n".join(lines)


def card_buttons(case: Case) -> list[tuple[str, str]]:
    """(label, callback_data) of the card's buttons for the case's status."""
    if case.status == OPEN:
        return [("Nhận ca", f"claim:{case.id}"), ("Đã xử lý", f"resolve:{case.id}")]
    if case.status == CLAIMED:
        return [("Đã xử lý", f"resolve:{case.id}")]
    return []


def mention(value: str | None) -> str:
    """An HTML mention: `@username` as is, a numeric user id as a tg:// link."""
    if not value:
        return ""
    if value.lstrip("-").isdigit():
        return f'<a href="tg://user?id={value}">Giám sát</a>'
    return html.escape(value if value.startswith("@") else "@" + value)


def reescalation_text(case: Case, level: int, waited: timedelta, supervisor: str | None, case_url: str) -> str:
    """Announcement that nobody claimed a case in time."""
    minutes = int(waited.total_seconds() // 60)
    head = f"🚨 NHẮC LẠI lần {level}: Ca #{case.id} ({html.escape(URGENCY_SHORT.get(case.urgency, case.urgency))})"
    who = f" {mention(supervisor)}" if supervisor else ""
    return (f"{head} chưa có ai nhận sau {minutes} phút.{who}\n"
            f"Xin một tư vấn viên bấm «Nhận ca» trên thẻ ca hoặc mở: {html.escape(case_url)}")


def stale_text(case: Case, supervisor: str | None, case_url: str) -> str:
    """Flag for a case claimed more than a day ago and not resolved."""
    who = f" {mention(supervisor)}" if supervisor else ""
    return (f"⚠️ Ca #{case.id} do {html.escape(actor_name(case.claimed_by))} nhận lúc "
            f"{html.escape(vn_time(case.claimed_at))} vẫn chưa được xử lý xong.{who}\n{html.escape(case_url)}")


def forward_text(case_id: int, text: str, claimer: str | None) -> str:
    """A resident's new message, forwarded to the counselors' group."""
    who = f" (đang do {html.escape(actor_name(claimer))} phụ trách)" if claimer else ""
    return (f"💬 Ca #{case_id}{who}: người dân nhắn thêm:\n«{html.escape(excerpt(text))}»\n"
            "Trả lời tin nhắn này để nhắn lại cho người dân.")


def resident_claimed_text() -> str:
    """Told to the resident when a counselor takes the case."""
    return ("Một tư vấn viên đã nhận trường hợp của bạn và sẽ trò chuyện trực tiếp với bạn ngay tại đây. "
            "Từ bây giờ, tin nhắn của bạn sẽ được chuyển đến tư vấn viên.")


def resident_resolved_text(hotlines: str) -> str:
    """Told to the resident when the case is closed and the bot answers again."""
    return ("Tư vấn viên đã kết thúc cuộc trò chuyện. Trợ lý tự động sẽ tiếp tục hỗ trợ bạn tại đây. "
            "Nếu bạn cần giúp đỡ thêm, cứ nhắn cho mình bất cứ lúc nào.\n\n"
            f"Nếu gặp nguy hiểm, hãy gọi ngay:\n{hotlines}")
