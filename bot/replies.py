"""Vietnamese replies composed from content (numbers always come from the hotline directory).

The replies that carry numbers (`hotline_block`, `urgent_reply`) are composed once, from a `Phrases` table: `VI`
here, the English one in bot.replies_en, so every language gives the same numbers in the same shape.

Also the one structured mark a reply carries: `case_marker` tells the channels that the assistant
opened (or joined) a case for the message, so they never look for a phone number in the text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.cases.shifts import Availability, when_phrase
from bot.content.hotlines import Hotline
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


@dataclass(frozen=True)
class Phrases:
    """One language's wording of the replies that carry numbers; the composers below are shared by every language."""

    hours: Callable[[Hotline], str]              # a line's hours as shown, "" when the directory does not know them
    emergency: Callable[[Hotline], str]          # one emergency number's line
    label: Callable[[ProvinceMatch], str]        # the province as the resident named it
    own_line: str                                # {where} {hours} {number} {organisation}
    part_of: str                                 # {province} {current}
    national_line: str                           # {hours} {number} {organisation}
    no_own_line: str                             # {label}
    danger_opening: str
    support_opening: str
    numbers_title: str
    case_ref: str                                # {id}
    passed: str                                  # {ref}
    passed_on_duty: str | None                   # {ref}; None: the plain `passed`
    passed_later: str | None                     # {ref} {when}; None: the plain `passed`
    not_passed: str


def _hours_vi(line: Hotline) -> str:
    return line.hours if line.known_hours() else ""


def hotline_block(library: Library, province: ProvinceMatch | None, phrases: Phrases | None = None) -> str:
    """Emergency numbers, the province's own counseling line if it has one, and the national lines, each named."""
    words = phrases or VI
    lines = [words.emergency(h) for h in library.hotlines.emergency]
    choice = library.hotlines.counseling_for(province, library.provinces)
    for line in choice.own:
        where = line.province if choice.named_own or province is None else \
            words.part_of.format(province=line.province, current=province.current)
        lines.append(words.own_line.format(where=where, hours=_shown_hours(words, line), number=line.number,
                                           organisation=line.organisation))
    for line in choice.national:
        lines.append(words.national_line.format(hours=_shown_hours(words, line), number=line.number,
                                                organisation=line.organisation))
    if province is not None and not choice.own and choice.national:
        lines.append(words.no_own_line.format(label=words.label(province)))
    return "\n".join(lines)


def _shown_hours(words: Phrases, line: Hotline) -> str:
    hours = words.hours(line)
    return f" ({hours})" if hours else ""


def when_counselor_reads(availability: Availability) -> str:
    """Why nobody reads now and from when a person will (Vietnamese), for an out-of-hours reply."""
    why = "ngoài giờ làm việc của tư vấn viên" if not availability.in_hours else "chưa có tư vấn viên trực"
    if availability.next_read_at is None:
        return f"Lúc này {why}, và mình chưa biết chính xác khi nào có người đọc tin nhắn của bạn."
    return (f"Lúc này {why}. Tư vấn viên sẽ đọc tin nhắn của bạn từ "
            f"{when_phrase(availability.next_read_at, availability.at)}.")


def urgent_reply(result: TriageResult, library: Library, province: ProvinceMatch | None,
                 case_id: int | None, recorded: bool, availability: Availability | None = None,
                 phrases: Phrases | None = None) -> str:
    """The same-turn reply to someone in danger or needing support: care, numbers, what happens next.

    With `availability` it says honestly who reads the message when; without it (database down), the plain wording.
    """
    words = phrases or VI
    opening = words.danger_opening if result.urgency == DANGER_NOW else words.support_opening
    numbers = words.numbers_title + "\n" + hotline_block(library, province, words)
    if recorded:
        ref = words.case_ref.format(id=case_id) if case_id else ""
        after = words.passed.format(ref=ref)
        if availability is not None and availability.open_now and words.passed_on_duty:
            after = words.passed_on_duty.format(ref=ref)
        elif availability is not None and not availability.open_now and words.passed_later:
            after = words.passed_later.format(ref=ref, when=when_counselor_reads(availability))
    else:
        after = words.not_passed
    return f"{opening}\n\n{numbers}\n\n{after}"


VI = Phrases(
    hours=_hours_vi, emergency=Hotline.line, label=ProvinceMatch.label,
    own_line="• Tư vấn tại {where}{hours}: {number} – {organisation}",
    part_of="{province} (nay thuộc {current})",
    national_line="• Tư vấn toàn quốc{hours}: {number} – {organisation}",
    no_own_line="Mình chưa có số tư vấn riêng cho {label}: các số tư vấn toàn quốc ở trên nhận cuộc gọi từ mọi tỉnh, "
                "thành.",
    danger_opening=("Mình rất lo cho sự an toàn của bạn. Nếu bạn hoặc người đó đang gặp nguy hiểm, "
                    "hãy gọi ngay 113 hoặc nhờ người xung quanh gọi giúp, và tìm đến nơi an toàn nếu có thể."),
    support_opening=("Cảm ơn bạn đã tin tưởng chia sẻ. Điều bạn đang trải qua không phải lỗi của bạn, "
                     "và bạn không phải đối mặt một mình."),
    numbers_title="Các số có thể gọi ngay:",
    case_ref=" (mã ca #{id})",
    passed=("Mình đã chuyển tin nhắn của bạn đến tư vấn viên{ref}. Tư vấn viên sẽ nhắn cho bạn ngay trong "
            "cuộc trò chuyện này sớm nhất có thể. Nếu nguy hiểm, đừng chờ: hãy gọi 113."),
    passed_on_duty=("Mình đã chuyển tin nhắn của bạn đến tư vấn viên{ref}. Tư vấn viên đang trực sẽ nhắn cho bạn "
                    "ngay trong cuộc trò chuyện này sớm nhất có thể. Nếu nguy hiểm, đừng chờ: hãy gọi 113."),
    passed_later=("Mình đã chuyển tin nhắn của bạn đến tư vấn viên{ref}. {when} "
                  "Trong lúc chờ, các số có ghi 24/7 ở trên luôn có người nghe máy; nếu nguy hiểm, đừng chờ: "
                  "hãy gọi 113."),
    not_passed=("Hiện mình chưa chuyển được tin nhắn đến tư vấn viên do sự cố kỹ thuật, "
                "vì vậy bạn hãy gọi trực tiếp các số ở trên."),
)


def counselor_request_reply(library: Library, province: ProvinceMatch | None, case_id: int | None,
                            recorded: bool, availability: Availability | None = None) -> str:
    """Reply to "I want to talk to a counselor" (honest about when, given `availability`)."""
    if recorded:
        ref = f" (mã ca #{case_id})" if case_id else ""
        head = (f"Mình đã báo cho tư vấn viên{ref}. Một tư vấn viên sẽ nhắn cho bạn ngay trong cuộc trò chuyện "
                "này khi nhận ca. Bạn có thể kể trước cho mình điều bạn cần hỗ trợ.")
        if availability is not None and availability.open_now:
            head = (f"Mình đã báo cho tư vấn viên{ref}. Tư vấn viên đang trực sẽ nhắn cho bạn ngay trong cuộc trò "
                    "chuyện này khi nhận ca. Bạn có thể kể trước cho mình điều bạn cần hỗ trợ.")
        elif availability is not None:
            head = (f"Mình đã báo cho tư vấn viên{ref}. {when_counselor_reads(availability)} Bạn có thể kể trước "
                    "cho mình điều bạn cần hỗ trợ. Các số có ghi 24/7 dưới đây luôn có người nghe máy.")
    else:
        head = "Hiện mình chưa chuyển được yêu cầu đến tư vấn viên do sự cố kỹ thuật. Bạn có thể gọi:"
    return f"{head}\n\nNếu cần ngay:\n{hotline_block(library, province)}"


SAFETY_YES, SAFETY_NO, COUNSELOR = "/safety_yes", "/safety_no", "/request_counselor"
# Titles of at most 20 characters: Messenger cuts quick-reply titles there.
SAFETY_BUTTONS = (("Có, đang nguy hiểm", SAFETY_YES), ("Gặp tư vấn viên", COUNSELOR),
                  ("Không, chỉ hỏi thôi", SAFETY_NO))
SAFETY_BUTTONS_EN = (("Yes, I am in danger", SAFETY_YES), ("Talk to a counselor", COUNSELOR),
                     ("No, just asking", SAFETY_NO))
SAFETY_CONFIRMED_REASON = "người dân xác nhận đang nguy hiểm"

# A bare "có" / "không" that answers no question of the bot's.
ANYTHING_ELSE = ("Vâng. Bạn cần mình giúp gì thêm không? Bạn có thể hỏi về bình đẳng giới, bạo lực gia đình, "
                 "pháp luật, số đường dây nóng hoặc sự kiện của Tháng hành động.")

SAFETY_NO_REPLY = ("Cảm ơn bạn đã cho mình biết, mình mừng vì lúc này không ai gặp nguy hiểm. Bạn cứ hỏi mình điều "
                   "bạn muốn biết: pháp luật, quyền của bạn, nơi nhận hỗ trợ, hay bất cứ điều gì bạn còn băn khoăn. "
                   "Khi nào muốn nói chuyện với một người, bạn nhắn \"gặp tư vấn viên\" nhé.")

# Added under an answer when the question came with an unclear personal note.
SUPPORT_LINE = ("Nếu chuyện này đang xảy ra với bạn hoặc một người bạn quen, bạn không phải một mình: nhắn "
                "\"gặp tư vấn viên\" để nói chuyện với tư vấn viên ngay tại đây, hoặc gọi 113 nếu có nguy hiểm.")


def safety_buttons(language: str = "vi") -> list[dict[str, str]]:
    """The safety check's quick replies (English titles for an English conversation, same payloads)."""
    pairs = SAFETY_BUTTONS_EN if language == "en" else SAFETY_BUTTONS
    return [{"title": title, "payload": payload} for title, payload in pairs]


def safety_check_reply(library: Library, province: ProvinceMatch | None) -> str:
    """The short, warm question asked when it is unclear whether someone is in danger now, with the numbers."""
    return ("Cảm ơn bạn đã chia sẻ với mình. Mình muốn hỏi để chắc chắn: bạn, hoặc người bạn đang nhắc đến, "
            "có đang gặp nguy hiểm ngay lúc này không?\n\nNếu có nguy hiểm, hãy gọi ngay:\n"
            + hotline_block(library, province)
            + "\n\nBạn chọn một câu trả lời bên dưới, hoặc cứ nhắn cho mình bằng lời của bạn.")


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
