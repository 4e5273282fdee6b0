"""Vietnamese replies composed from content (numbers always come from the hotline directory).

Also the one structured mark a reply carries: `case_marker` tells the channels that the assistant
opened (or joined) a case for the message, so they never look for a phone number in the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.content.library import Library
from bot.content.provinces import ProvinceMatch
from bot.triage import DANGER_NOW, TriageResult

CASE_MARKER = "case_marker"  # key of the bot message's metadata; never part of the text

# How each attachment kind is named to the resident.
ATTACHMENT_NAMES = {
    "image": "hình ảnh", "sticker": "nhãn dán (sticker)", "gif": "ảnh động (GIF)", "audio": "tin nhắn thoại",
    "voice": "tin nhắn thoại", "video": "video", "file": "tệp", "link": "đường dẫn", "location": "vị trí",
    "contact": "danh thiếp", "other": "tệp đính kèm",
}

WELCOME_FALLBACK = ("Xin chào! Mình là trợ lý tự động của Hội Liên hiệp Phụ nữ trong Tháng hành động vì bình đẳng "
                    "giới. Bạn cứ nhắn câu hỏi bằng chữ cho mình nhé. Nếu bạn hoặc ai đó đang gặp nguy hiểm, hãy "
                    "gọi ngay 113.")

# The deletion request could not be recorded (database unreachable): never say it is done.
DELETE_NOT_RECORDED = ("Xin lỗi, lúc này mình chưa ghi nhận được yêu cầu xóa. Bạn nhắn lại \"xóa dữ liệu của tôi\" "
                       "sau ít phút nhé.")

TYPICAL_ACTIVITIES = (
    "lễ phát động; diễn đàn, đối thoại, tọa đàm; tuyên truyền trên loa phát thanh, Zalo, Facebook, băng rôn; "
    "các cuộc thi tìm hiểu pháp luật, sân khấu hóa; sinh hoạt câu lạc bộ; thăm hỏi, hỗ trợ phụ nữ và trẻ em "
    "có hoàn cảnh khó khăn"
)


def hotline_block(library: Library, province: ProvinceMatch | None) -> str:
    """Emergency numbers plus the counseling line for the province (or the default line)."""
    lines = [library.hotlines.emergency_lines()]
    line, local = library.hotlines.counseling_for(province.current if province else None, library.provinces)
    if line is not None:
        prefix = "Tư vấn" if local or province is None else f"Tư vấn (chưa có số riêng cho {province.label()})"
        lines.append(f"• {prefix}: {line.number} – {line.organisation}")
    return "\n".join(lines)


def urgent_reply(result: TriageResult, library: Library, province: ProvinceMatch | None,
                 case_id: int | None, recorded: bool) -> str:
    """The same-turn reply to someone in danger or needing support: care, numbers, what happens next."""
    if result.urgency == DANGER_NOW:
        opening = ("Mình rất lo cho sự an toàn của bạn. Nếu bạn hoặc người đó đang gặp nguy hiểm, "
                   "hãy gọi ngay 113 hoặc nhờ người xung quanh gọi giúp, và tìm đến nơi an toàn nếu có thể.")
    else:
        opening = ("Cảm ơn bạn đã tin tưởng chia sẻ. Điều bạn đang trải qua không phải lỗi của bạn, "
                   "và bạn không phải đối mặt một mình.")
    numbers = "Các số có thể gọi ngay:\n" + hotline_block(library, province)
    if recorded:
        ref = f" (mã ca #{case_id})" if case_id else ""
        after = (f"Mình đã chuyển tin nhắn của bạn đến tư vấn viên{ref}. Tư vấn viên sẽ nhắn cho bạn ngay trong "
                 "cuộc trò chuyện này sớm nhất có thể. Nếu nguy hiểm, đừng chờ: hãy gọi 113.")
    else:
        after = ("Hiện mình chưa chuyển được tin nhắn đến tư vấn viên do sự cố kỹ thuật, "
                 "vì vậy bạn hãy gọi trực tiếp các số ở trên.")
    return f"{opening}\n\n{numbers}\n\n{after}"


def counselor_request_reply(library: Library, province: ProvinceMatch | None, case_id: int | None,
                            recorded: bool) -> str:
    """Reply to "I want to talk to a counselor"."""
    if recorded:
        ref = f" (mã ca #{case_id})" if case_id else ""
        head = (f"Mình đã báo cho tư vấn viên{ref}. Một tư vấn viên sẽ nhắn cho bạn ngay trong cuộc trò chuyện "
                "này khi nhận ca. Bạn có thể kể trước cho mình điều bạn cần hỗ trợ.")
    else:
        head = "Hiện mình chưa chuyển được yêu cầu đến tư vấn viên do sự cố kỹ thuật. Bạn có thể gọi:"
    return f"{head}\n\nNếu cần ngay:\n{hotline_block(library, province)}"


def hotline_reply(library: Library, province: ProvinceMatch | None) -> str:
    """Reply to "which number can I call?"."""
    where = f" cho {province.label()}" if province else ""
    tail = "" if province else "\n\nBạn ở tỉnh/thành nào? Mình sẽ tìm số tư vấn gần bạn nhất nếu có."
    return f"Các số điện thoại hỗ trợ{where}:\n{hotline_block(library, province)}{tail}"


def events_reply(library: Library, province: ProvinceMatch | None, today: date) -> str:
    """Reply to "what events are coming up (in PROVINCE)?"."""
    current = province.current if province else None
    upcoming = library.events.upcoming(current, library.provinces, today)
    where = f" ở {province.label()}" if province else ""
    if upcoming:
        lines = "\n".join(e.line() for e in upcoming[:8])
        return f"Các sự kiện sắp tới{where} mà mình có thông tin:\n{lines}"
    text = f"Hiện mình chưa có thông tin về sự kiện sắp tới{where} trong lịch."
    past = library.events.latest_past(current, library.provinces, today)
    if past:
        text += f" Sự kiện gần nhất mình có là:\n{past.line()}"
    text += (f"\n\nTrong Tháng hành động, các địa phương thường tổ chức: {TYPICAL_ACTIVITIES}. "
             "Bạn có thể hỏi Hội Liên hiệp Phụ nữ xã/phường nơi bạn sống để biết lịch cụ thể.")
    if not province:
        text += " Bạn cho mình biết tỉnh/thành của bạn để mình tìm đúng lịch nhé."
    return text


def fallback_reply(library: Library, repeated: bool) -> str:
    """Reply when the bot did not understand; the second miss in a row offers the hotline."""
    text = ("Xin lỗi, mình chưa hiểu ý bạn. Mình có thể giúp về: bình đẳng giới; bạo lực gia đình và bạo lực "
            "trên cơ sở giới; pháp luật liên quan; nơi nhận hỗ trợ và số đường dây nóng; chủ đề, thời gian và "
            "sự kiện của Tháng hành động. Bạn cũng có thể nhắn \"gặp tư vấn viên\".")
    if repeated:
        text += ("\n\nNếu bạn muốn nói chuyện trực tiếp với một người, bạn có thể gọi:\n"
                 + hotline_block(library, None))
    return text


def attachment_reply(kind: str, library: Library) -> str:
    """The kind reply to a photo, sticker, voice message…: text only, plus the numbers to call."""
    name = ATTACHMENT_NAMES.get(kind, ATTACHMENT_NAMES["other"])
    return (f"Cảm ơn bạn đã gửi {name}. Hiện mình chỉ đọc được tin nhắn bằng chữ, bạn nhắn cho mình điều bạn "
            "muốn nói bằng chữ nhé.\n\nNếu bạn hoặc ai đó đang gặp nguy hiểm, hãy gọi ngay:\n"
            + hotline_block(library, None))


def apology_reply(library: Library) -> str:
    """When the assistant cannot answer a (non-urgent) message."""
    return ("Xin lỗi, mình đang gặp sự cố kỹ thuật nên chưa trả lời được. Bạn vui lòng nhắn lại sau ít phút nhé."
            "\n\nNếu bạn hoặc ai đó đang gặp nguy hiểm, hãy gọi ngay:\n" + hotline_block(library, None))


def case_marker(case_id: int | None) -> dict[str, Any]:
    """The metadata of a reply sent for a recorded case (`id` None: spooled, not yet in the database)."""
    return {CASE_MARKER: {"id": case_id}}


def carries_case(message: Mapping[str, Any]) -> bool:
    """True when a bot message (Rasa's dict) carries the case marker."""
    return isinstance(message.get(CASE_MARKER), dict)
