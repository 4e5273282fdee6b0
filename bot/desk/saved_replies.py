"""Saved replies: the seeded Vietnamese answers, listing and editing them, and filling their placeholders for a case.

Seeds are written once per key (`seed_key` is unique), so seeding is safe to run twice or at once from two
requests, and a seed staff deleted (deactivated) never comes back. The seeded texts restate the FAQ
(content/faq/*.yml: evidence_keeping, protection_measures, trusted_address_shelter, safety_plan,
where_to_report, counseling_confidential); every number comes from the hotline directory through a
placeholder, never from the text. Filling only replaces the known placeholders; anything else stays as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.content.library import Library
from bot.content.provinces import ProvinceMatch
from bot.db.engine import session_factory
from bot.desk.models import SavedReply

PLACEHOLDERS = {"so_tu_van": "số tư vấn của tỉnh/thành người dân (danh bạ đường dây nóng)",
                "so_khan_cap": "các số khẩn cấp 24/7 (113, 115, 111 theo danh bạ)",
                "tinh": "tỉnh/thành của người dân (nếu biết)"}
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
MAX_TITLE, MAX_BODY = 120, 2000
SEEDS: tuple[tuple[str, str, str], ...] = (
    ("evidence", "Giữ bằng chứng",
     "Chị/em nên lưu lại bằng chứng, kể cả khi chưa muốn báo ngay: ảnh chụp vết thương (chụp rõ, chụp lại qua "
     "nhiều ngày), giấy khám và hồ sơ điều trị, tin nhắn, cuộc gọi, bài đăng đe dọa, ghi âm, ghi hình, ảnh đồ đạc "
     "bị đập phá, tên và cách liên lạc của người chứng kiến. Có thể ghi nhật ký ngắn mỗi lần xảy ra: ngày giờ, nơi "
     "chốn, chuyện gì, ai có mặt. Hãy cất bằng chứng ở nơi người kia không tìm thấy (gửi người tin cậy hoặc tài "
     "khoản riêng có mật khẩu) và đừng để mình gặp nguy hiểm chỉ vì cố thu thập bằng chứng."),
    ("protection_order", "Biện pháp cấm tiếp xúc",
     "Luật Phòng, chống bạo lực gia đình năm 2022 (Điều 22) có các biện pháp bảo vệ người bị bạo lực, trong đó có "
     "cấm tiếp xúc: người có hành vi bạo lực không được đến gần người bị bạo lực hoặc dùng phương tiện, công cụ để "
     "tiếp tục gây bạo lực. Áp dụng biện pháp nào và trong bao lâu do cơ quan, người có thẩm quyền quyết định tùy "
     "vụ việc. Chị/em có thể báo tin tới UBND xã hoặc Công an xã nơi xảy ra bạo lực để đề nghị được bảo vệ; mình "
     "có thể giúp chị/em chuẩn bị những gì cần nói."),
    ("shelter", "Địa chỉ tin cậy – nhà tạm lánh",
     "“Địa chỉ tin cậy – nhà tạm lánh” là một cá nhân, gia đình hoặc tổ chức có uy tín ở địa phương tự nguyện "
     "tiếp nhận người bị bạo lực gia đình, cho tạm lánh để được an toàn và báo kịp thời cho chính quyền, đoàn thể. "
     "Để tìm địa chỉ gần chị/em ở {tinh}, hãy hỏi Hội Phụ nữ hoặc UBND xã, phường; mình cũng có thể cùng chị/em "
     "liên hệ. Số tư vấn: {so_tu_van}. Nếu đang gặp nguy hiểm, hãy gọi ngay: {so_khan_cap}."),
    ("safety_plan", "Kế hoạch an toàn",
     "Mình cùng chị/em chuẩn bị trước để có thể rời đi nhanh hoặc gọi được người giúp nhé: cất sẵn ở nơi kín đáo "
     "hoặc gửi người tin cậy một túi nhỏ gồm giấy tờ tùy thân, giấy khai sinh của con, thẻ ngân hàng, một ít tiền, "
     "thuốc men, sạc điện thoại; chọn trước một người an toàn và thống nhất một tín hiệu để báo khi cần giúp; "
     "nghĩ sẵn nơi có thể đến tạm lánh. Khi có xung đột, tránh những chỗ có dao kéo hoặc không có lối thoát như "
     "bếp, nhà tắm. Khi nguy hiểm cận kề, chạy ra chỗ đông người và gọi: {so_khan_cap}."),
    ("where_to_report", "Báo tin ở đâu",
     "Chị/em có thể báo tin bạo lực gia đình tới UBND xã nơi xảy ra bạo lực, Công an hoặc Đồn Biên phòng gần "
     "nhất, nhà trường nơi người bị bạo lực đang học, Trưởng thôn, Tổ trưởng tổ dân phố, hoặc Hội Liên hiệp Phụ "
     "nữ xã (Luật Phòng, chống bạo lực gia đình 2022, Điều 19): gọi điện, nhắn tin, gửi đơn hoặc đến trực tiếp. "
     "Người thân, hàng xóm cũng có thể báo tin. Khi đang nguy hiểm: {so_khan_cap}."),
    ("emergency_now", "Đang nguy hiểm: gọi ngay",
     "Nếu chị/em đang gặp nguy hiểm, hãy ra chỗ đông người hoặc nơi có thể khóa cửa và gọi ngay: {so_khan_cap}. "
     "Khi đã an toàn, nhắn cho mình một chữ thôi cũng được, mình vẫn ở đây."),
    ("confidential", "Thông tin được giữ kín",
     "Những gì chị/em chia sẻ ở đây được giữ kín: chỉ các tư vấn viên của Trung tâm mới xem được. Bất cứ lúc nào "
     "chị/em cũng có thể nhắn “xóa dữ liệu của tôi” để xóa cuộc trò chuyện. Nếu muốn nói chuyện qua điện thoại, "
     "số tư vấn là {so_tu_van}."),
)


@dataclass(frozen=True)
class FilledReply:
    """A saved reply ready for one case: its title and the text with placeholders filled."""

    id: int
    title: str
    text: str


def seed(engine: Engine, now: datetime) -> int:
    """Write the seeded replies whose keys are not in the table yet; returns how many were written."""
    written = 0
    for position, (key, title, body) in enumerate(SEEDS):
        try:
            with session_factory(engine).begin() as s:
                if s.execute(select(SavedReply.id).where(SavedReply.seed_key == key)).first() is not None:
                    continue
                s.add(SavedReply(seed_key=key, title=title, body=body, position=position, active=True,
                                 updated_by="seed", updated_at=now))
            written += 1
        except IntegrityError:  # written at this moment by another request
            continue
    return written


def all_replies(engine: Engine, now: datetime, *, active_only: bool = True) -> list[SavedReply]:
    """Saved replies in display order (seeded first when the table has never held any)."""
    with session_factory(engine)() as s:
        empty = s.execute(select(func.count()).select_from(SavedReply)).scalar_one() == 0
    if empty:
        seed(engine, now)
    q = select(SavedReply)
    if active_only:
        q = q.where(SavedReply.active.is_(True))
    with session_factory(engine)() as s:
        return list(s.execute(q.order_by(SavedReply.position, SavedReply.id)).scalars())


def check(title: str, body: str) -> str | None:
    """Why a saved reply cannot be stored (Vietnamese), or None."""
    if not title.strip() or not body.strip():
        return "Cần có cả tiêu đề và nội dung."
    if len(title) > MAX_TITLE or len(body) > MAX_BODY:
        return f"Tiêu đề tối đa {MAX_TITLE} ký tự, nội dung tối đa {MAX_BODY} ký tự."
    unknown = {m for m in re.findall(r"\{(\w+)\}", body) if m not in PLACEHOLDERS}
    if unknown:
        return "Chỗ điền không có: " + ", ".join("{" + u + "}" for u in sorted(unknown))
    return None


def save(engine: Engine, reply_id: int | None, title: str, body: str, position: int, by: str,
         now: datetime) -> str | None:
    """Add (no id) or change a saved reply; returns why it was refused, or None."""
    title, body = " ".join(title.split()), body.strip()
    refused = check(title, body)
    if refused:
        return refused
    with session_factory(engine).begin() as s:
        if reply_id is None and s.execute(select(SavedReply.id).where(
                SavedReply.title == title, SavedReply.body == body)).first() is not None:
            return None  # the same form sent twice adds one reply
        row = s.get(SavedReply, reply_id) if reply_id is not None else SavedReply(active=True)
        if row is None:
            return "Không tìm thấy câu trả lời mẫu này."
        row.title, row.body, row.position, row.updated_by, row.updated_at = title, body, position, by, now
        s.add(row)
    return None


def deactivate(engine: Engine, reply_id: int, by: str, now: datetime) -> bool:
    """Hide a saved reply from the case page (kept, so a seed never comes back); False if unknown."""
    with session_factory(engine).begin() as s:
        row = s.get(SavedReply, reply_id)
        if row is None:
            return False
        row.active, row.updated_by, row.updated_at = False, by, now
    return True


def placeholder_values(library: Library, province: str | None) -> dict[str, str]:
    """The values of the placeholders for a resident of `province` (None: unknown)."""
    lines = library.hotlines.counseling_for(ProvinceMatch(province, province) if province else None,
                                            library.provinces)
    line = (lines.own or lines.national or (None,))[0]  # the province's own line, else the national default
    counseling = f"{line.number} ({line.organisation})" if line else "—"
    emergency = ", ".join(f"{h.number} ({h.organisation})" for h in library.hotlines.emergency)
    return {"so_tu_van": counseling, "so_khan_cap": emergency, "tinh": province or "nơi chị/em ở"}


def fill(body: str, values: dict[str, str]) -> str:
    """Replace the known placeholders of a text."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], body)


def filled_for_case(engine: Engine, library: Library, province: str | None, now: datetime) -> list[FilledReply]:
    """Every active saved reply, filled for a case of this province."""
    values = placeholder_values(library, province)
    return [FilledReply(r.id, r.title, fill(r.body, values)) for r in all_replies(engine, now)]
