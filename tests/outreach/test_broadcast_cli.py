"""`python -m bot broadcast …`: create prints `id=<N>`, approval by another account, status --json, cancel."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.outreach import broadcasts as bc
from bot.staff.cli import Tool, main
from bot.timeutil import VN_TZ, utcnow
from tests.outreach.helpers import add_sub


def run(engine: Engine, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Tool(out=out, err=err, engine=engine))
    return code, out.getvalue(), err.getvalue()


def in_an_hour() -> str:
    return (datetime.now(VN_TZ) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")


def test_create_approve_status_cancel(staffed: Engine) -> None:
    now = utcnow()
    add_sub(staffed, "telegram:1", province="Quảng Ngãi", now=now)
    add_sub(staffed, "zalo:2", province="Quảng Ngãi", now=now)
    start = in_an_hour()
    code, out, err = run(staffed, "broadcast", "create", "--text", "Mời bạn dự ngày hội ở xã mình.",
                         "--province", "Kon Tum", "--start", start, "--button", "Có", "--button", "Không",
                         "--poll-question", "Bạn sẽ đến chứ?", "--by", "an")
    assert code == 0, err
    last = out.strip().splitlines()[-1]
    assert last.startswith("id=")
    broadcast_id = int(last[3:])
    view = bc.get_broadcast(staffed, broadcast_id)
    assert view.province == "Quảng Ngãi" and view.poll_question == "Bạn sẽ đến chứ?"
    assert view.start_at.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M") == start  # --start is Vietnam time
    assert "Người nhận nếu gửi bây giờ: 2" in out
    assert "Hội LHPN tỉnh Quảng Ngãi – Tháng hành động vì bình đẳng giới" in out

    code, out, err = run(staffed, "broadcast", "approve", str(broadcast_id), "--by", "an")
    assert code != 0 and "Người tạo bản tin không thể tự duyệt" in err
    assert bc.get_broadcast(staffed, broadcast_id).state == "draft"
    code, out, err = run(staffed, "broadcast", "approve", str(broadcast_id), "--by", "binh")
    assert code == 0 and "Đã duyệt bản tin" in out

    code, out, _ = run(staffed, "broadcast", "status", str(broadcast_id), "--json")
    assert code == 0
    assert json.loads(out) == {"state": "approved", "recipients": 0, "sent": 0, "failed": 0, "skipped": {}}
    code, out, _ = run(staffed, "broadcast", "status", str(broadcast_id))
    assert code == 0 and "Đã duyệt" in out and "0%" in out

    code, out, err = run(staffed, "broadcast", "cancel", str(broadcast_id), "--by", "binh")
    assert code == 0 and "Đã hủy bản tin" in out
    code, out, _ = run(staffed, "broadcast", "status", str(broadcast_id), "--json")
    assert json.loads(out)["state"] == "cancelled"
    code, out, _ = run(staffed, "broadcast", "list")
    assert f"#{broadcast_id}" in out and "Đã hủy" in out


def test_bad_input_is_refused_in_vietnamese_and_nothing_is_saved(staffed: Engine) -> None:
    add_sub(staffed, "telegram:1", now=utcnow())
    code, out, err = run(staffed, "broadcast", "create", "--text", "", "--province", "Atlantis",
                         "--start", "2020-01-01 08:00", "--by", "an")
    assert code == 1 and "id=" not in out
    assert "Nội dung bản tin đang để trống" in err and "Không nhận ra tỉnh/thành" in err
    assert "Thời điểm bắt đầu gửi đã qua" in err
    assert bc.list_broadcasts(staffed) == []
    code, out, err = run(staffed, "broadcast", "create", "--text", "Xin chào", "--by", "dung")
    assert code == 1 and "không có quyền tạo bản tin" in err
    code, out, err = run(staffed, "broadcast", "status", "999", "--json")
    assert code == 1 and "Không có bản tin số 999" in err
