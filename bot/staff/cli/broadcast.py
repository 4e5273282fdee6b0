"""`python -m bot broadcast create|approve|status|cancel|list`: broadcasts to subscribers, from the command line.

Times are Vietnam time ("YYYY-MM-DD HH:MM"). `create` ends with the line `id=<N>`; `status ID --json` prints
{"state", "recipients", "sent", "failed", "skipped"}. Accounts are the console's (staff or supervisor); a
broadcast goes out only after a second account approved it, and the desk sends it when due.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from bot.content.library import Library
from bot.outreach import broadcasts
from bot.outreach.models import TOPICS
from bot.senders import PUSH_CHANNELS
from bot.staff.cli.registry import Area, arg
from bot.staff.cli.tool import Tool
from bot.timeutil import UTC, VN_TZ, utcnow, vn_time

AREA = Area("broadcast", "Gửi bản tin cho người đăng ký / broadcasts to subscribers")
_BY = arg("--by", required=True, help="tài khoản bảng điều khiển (vai trò staff) / console account")
TIME_FORMAT = "%Y-%m-%d %H:%M"


def vn_datetime(text: str) -> datetime:
    """An argparse type: "YYYY-MM-DD HH:MM" in Vietnam time, as UTC."""
    try:
        return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=VN_TZ).astimezone(UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"thời điểm không hợp lệ / invalid time: {text} "
                                         "(YYYY-MM-DD HH:MM, giờ Việt Nam)") from None


def _refused(tool: Tool, exc: broadcasts.BroadcastError) -> int:
    tool.warn("Không thực hiện được:")
    for message in exc.messages:
        tool.warn(f"  - {message}")
    return 1


@AREA.command("create", "Tạo bản tin (chờ duyệt) / create a broadcast (awaits approval)",
              arg("--text", required=True, help="nội dung / text"),
              arg("--province", help="tỉnh, thành (để trống: mọi tỉnh) / province"),
              arg("--channel", choices=PUSH_CHANNELS, help="kênh (để trống: mọi kênh) / channel"),
              arg("--topic", choices=TOPICS, default=TOPICS[0], help="news (tin chiến dịch) | events (sự kiện)"),
              arg("--start", type=vn_datetime, help='bắt đầu gửi, giờ Việt Nam "YYYY-MM-DD HH:MM" (mặc định: ngay)'),
              arg("--end", type=vn_datetime, help='ngừng gửi sau thời điểm này, giờ Việt Nam "YYYY-MM-DD HH:MM"'),
              arg("--quiet-hours", help='giờ yên lặng, ví dụ "21:00-07:00", hoặc "off"'),
              arg("--button", action="append", default=[], help="nút trả lời nhanh (lặp lại được) / quick reply"),
              arg("--poll-question", help="câu hỏi thăm dò; các --button là phương án (2–4) / poll question"),
              _BY)
def create(tool: Tool, args: argparse.Namespace) -> int:
    """Validate and save a draft; print the audience, a preview per channel and `id=<N>`."""
    now = utcnow()
    library = Library.load(tool.content_dir)
    draft = broadcasts.Draft(text=args.text, start_at=args.start or now, buttons=list(args.button),
                             poll_question=args.poll_question, topic=args.topic, province=args.province,
                             channel=args.channel, end_at=args.end)
    if args.quiet_hours is not None:
        draft.quiet_hours = args.quiet_hours
    try:
        broadcast_id = broadcasts.create(tool.engine(), draft, args.by, library, now)
    except broadcasts.BroadcastError as exc:
        return _refused(tool, exc)
    view = broadcasts.get_broadcast(tool.engine(), broadcast_id)
    count = broadcasts.audience_count(tool.engine(), topic=view.topic, province=view.province, channel=view.channel,
                                      now=now)
    tool.say(f"Đã tạo bản tin số {broadcast_id} (bản nháp, chờ một tài khoản khác duyệt).")
    tool.say(f"Người nhận nếu gửi bây giờ: {count}. Bắt đầu gửi: {vn_time(view.start_at)} (giờ Việt Nam).")
    for channel in broadcasts.channels_of(view.channel):
        rendered = broadcasts.render(view, channel, library)
        buttons = f"  [nút: {', '.join(rendered.buttons)}]" if rendered.buttons else ""
        tool.say(f"--- Xem trước trên {channel} ({len(rendered.text)} ký tự){buttons}:")
        tool.say(rendered.text)
    tool.say(f"Duyệt: python -m bot broadcast approve {broadcast_id} --by <tài khoản khác>")
    tool.say(f"id={broadcast_id}")
    return 0


@AREA.command("approve", "Duyệt bản tin (tài khoản khác người tạo) / approve (not by its creator)",
              arg("id", type=int), _BY)
def approve(tool: Tool, args: argparse.Namespace) -> int:
    """Approve a draft."""
    try:
        broadcasts.approve(tool.engine(), args.id, args.by, utcnow())
    except broadcasts.BroadcastError as exc:
        return _refused(tool, exc)
    view = broadcasts.get_broadcast(tool.engine(), args.id)
    tool.say(f"Đã duyệt bản tin số {args.id}: hệ thống sẽ gửi từ {vn_time(view.start_at)} (giờ Việt Nam).")
    return 0


@AREA.command("cancel", "Hủy bản tin (dừng gửi ngay) / cancel (stops sending)", arg("id", type=int), _BY)
def cancel(tool: Tool, args: argparse.Namespace) -> int:
    """Cancel a broadcast not yet done."""
    try:
        skipped = broadcasts.cancel(tool.engine(), args.id, args.by, utcnow())
    except broadcasts.BroadcastError as exc:
        return _refused(tool, exc)
    tool.say(f"Đã hủy bản tin số {args.id}; {skipped} người nhận chưa được gửi sẽ không nhận tin này.")
    return 0


@AREA.command("status", "Tiến độ gửi / progress", arg("id", type=int),
              arg("--json", action="store_true", help='in {"state","recipients","sent","failed","skipped"}'))
def status(tool: Tool, args: argparse.Namespace) -> int:
    """Progress of one broadcast."""
    try:
        st = broadcasts.status(tool.engine(), args.id)
    except broadcasts.BroadcastError as exc:
        return _refused(tool, exc)
    if args.json:
        tool.say(json.dumps(st.as_json(), ensure_ascii=False))
        return 0
    filled = round(st.done_share * 20)
    tool.say(f"Bản tin số {args.id}: {broadcasts.STATE_LABELS.get(st.state, st.state)}")
    tool.say(f"[{'#' * filled}{'.' * (20 - filled)}] {round(st.done_share * 100)}%  "
             f"người nhận {st.recipients}, đã gửi {st.sent}, lỗi {st.failed}, đang chờ {st.pending}")
    for reason, count in sorted(st.skipped.items()):
        tool.say(f"  bỏ qua ({broadcasts.skip_label(reason)}): {count}")
    return 0


@AREA.command("list", "Danh sách bản tin / list broadcasts", arg("--limit", type=int, default=20))
def list_all(tool: Tool, args: argparse.Namespace) -> int:
    """The newest broadcasts."""
    items = broadcasts.list_broadcasts(tool.engine(), args.limit)
    if not items:
        tool.say("Chưa có bản tin nào.")
    for b in items:
        where = b.province or "mọi tỉnh"
        tool.say(f"  #{b.id:<4} {broadcasts.STATE_LABELS.get(b.state, b.state):12} {vn_time(b.start_at)}  {where}, "
                 f"{b.channel or 'mọi kênh'}, đã gửi {b.sent}/{b.recipients if b.recipients is not None else '—'}  "
                 f"“{b.excerpt}”")
    return 0
