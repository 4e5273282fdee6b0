"""What a recipient receives, per channel: a neutral first line naming the sender, the body, the poll, how to stop.

The first line is what a locked phone shows, so it names the organisation and the campaign only (never a
word about violence: `sensitive_preview` refuses a body whose first characters would show one). Every
message ends with how to stop receiving broadcasts and, where the platform has buttons, a "Dừng nhận tin"
quick reply (payload `/unsubscribe`). Zalo customer-service messages have no buttons: options become
numbered lines the resident answers by number.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.config import env
from bot.text import fold, normalize

CAMPAIGN_SHORT = "Tháng hành động vì bình đẳng giới"
DEFAULT_ORGANISATION = "Hội LHPN Việt Nam"
STOP_TITLE = "Dừng nhận tin"
STOP_PAYLOAD = "/unsubscribe"
POLL_PAYLOAD = "/poll_option_{}"  # 1-based, B's intents
PREVIEW_BODY_CHARS = 100
# Centrally-run cities are "thành phố", the other provinces "tỉnh".
CITIES = frozenset({"Hà Nội", "Huế", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Thành phố Hồ Chí Minh"})
# Words that must not show on a locked screen: folded form (matched with and without diacritics) → as written.
SENSITIVE_FOLDED = {"bao luc": "bạo lực", "bao hanh": "bạo hành", "xam hai": "xâm hại", "hiep dam": "hiếp dâm",
                    "cuong hiep": "cưỡng hiếp", "cuong dam": "cưỡng dâm", "danh dap": "đánh đập",
                    "nguoc dai": "ngược đãi", "lam dung": "lạm dụng", "quay roi": "quấy rối",
                    "tan cong tinh duc": "tấn công tình dục", "bi danh": "bị đánh", "danh vo": "đánh vợ"}
# Words only recognisable with their diacritics ("hiệp" in "hiệp hội" folds like "hiếp").
SENSITIVE_EXACT = ("hiếp",)
_EXACT_RE = re.compile(r"(?<!\w)(" + "|".join(SENSITIVE_EXACT) + r")(?!\w)")


@dataclass(frozen=True)
class Rendered:
    """Exactly what one recipient on one channel receives: one message, with its quick replies."""

    text: str
    buttons: list[str] = field(default_factory=list)   # titles, the stop reply last
    payloads: list[str] = field(default_factory=list)  # what each button sends back, same order

    def button_dicts(self) -> list[dict[str, str]]:
        """The buttons as the senders take them ({"title", "payload"})."""
        return [{"title": t, "payload": p} for t, p in zip(self.buttons, self.payloads)]


def organisation() -> str:
    """BROADCAST_ORGANISATION: who a broadcast without a province comes from."""
    return env("BROADCAST_ORGANISATION", DEFAULT_ORGANISATION) or DEFAULT_ORGANISATION


def sender_line(province: str | None) -> str:
    """"Hội LHPN tỉnh Gia Lai – Tháng hành động vì bình đẳng giới" (the organisation when no province)."""
    if not province:
        who = organisation()
    elif fold(province).startswith("thanh pho "):
        who = f"Hội LHPN {province}"
    elif province in CITIES:
        who = f"Hội LHPN thành phố {province}"
    else:
        who = f"Hội LHPN tỉnh {province}"
    return f"{who} – {CAMPAIGN_SHORT}"


def button_labels(value: Any) -> list[str]:
    """Buttons of a draft (a list) or a stored broadcast (a JSON list)."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(b).strip() for b in value or [] if str(b).strip()]


def render_parts(text: str, buttons: Sequence[str], poll_question: str | None, province: str | None,
                 channel: str) -> Rendered:
    """The one message for `channel`: first line, body, poll or options, closing line, quick replies."""
    body = unicodedata.normalize("NFC", (text or "").strip())
    blocks = [sender_line(province), body]
    titles: list[str] = []
    payloads: list[str] = []
    if poll_question:
        blocks.append(poll_question.strip())
        if channel == "zalo":
            lines = [f"{i}. {b}" for i, b in enumerate(buttons, 1)]
            blocks.append("\n".join([*lines, f"Trả lời bằng cách nhắn số (1–{len(buttons)})."]))
        else:
            titles = list(buttons)
            payloads = [POLL_PAYLOAD.format(i) for i in range(1, len(buttons) + 1)]
    elif buttons:
        if channel == "zalo":
            blocks.append("Bạn có thể trả lời:\n" + "\n".join(f"• {b}" for b in buttons))
        else:
            titles, payloads = list(buttons), list(buttons)
    if channel == "zalo":
        blocks.append("Không muốn nhận tin nữa? Nhắn “hủy đăng ký” hoặc “dừng nhận tin”.")
    else:
        blocks.append("Không muốn nhận tin nữa? Bấm “Dừng nhận tin” hoặc nhắn “hủy đăng ký”.")
        titles.append(STOP_TITLE)
        payloads.append(STOP_PAYLOAD)
    return Rendered("\n\n".join(b for b in blocks if b), titles, payloads)


def preview(text: str, province: str | None) -> str:
    """What a locked screen shows: the first line and the body's first characters."""
    return f"{sender_line(province)}\n{(text or '').strip()[:PREVIEW_BODY_CHARS]}"


def sensitive_words(text: str) -> list[str]:
    """Sensitive words found in a text (with or without diacritics), written with their diacritics."""
    folded = f" {normalize(text)} "
    found = [shown for key, shown in SENSITIVE_FOLDED.items() if f" {key} " in folded]
    lowered = unicodedata.normalize("NFC", (text or "").lower())
    found += [m.group(1) for m in _EXACT_RE.finditer(lowered)]
    return list(dict.fromkeys(found))
