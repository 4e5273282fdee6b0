"""English replies for residents who write in English (or another language the bot does not speak).

Guarantees: every reply carries the emergency numbers and the counseling lines chosen by the hotline directory
exactly as the Vietnamese replies do (a province's own line only to that province, national lines to everyone),
says that a counselor can be reached in this chat (and may answer in Vietnamese) and how to ask; `urgent_reply_en`
mirrors `bot.replies.urgent_reply` (recorded or not, the case number).
"""

from __future__ import annotations

from bot.content.hotlines import Hotline
from bot.content.library import Library
from bot.content.provinces import ProvinceMatch
from bot.triage import DANGER_NOW, TriageResult

# How the emergency numbers of the directory are named in English; other numbers keep their Vietnamese name.
EMERGENCY_NAMES_EN = {"113": "Police", "115": "Ambulance", "111": "National child protection hotline, free"}
ASK_COUNSELOR = 'To talk to a counselor here, write: counselor'


def _hours_en(line: Hotline) -> str:
    """The line's hours in English ("24/7, free"), or "" when the directory does not know them."""
    if not line.known_hours():
        return ""
    return line.hours.replace("miễn phí", "free").replace("cả ngày", "all day")


def _label_en(province: ProvinceMatch) -> str:
    """The province as the resident named it, with the province it now belongs to."""
    if province.named == province.current:
        return province.current
    return f"{province.named} (now part of {province.current})"


def hotline_block_en(library: Library, province: ProvinceMatch | None) -> str:
    """Emergency numbers, the province's own counseling line if any, and the national lines, in English."""
    lines = []
    for h in library.hotlines.emergency:
        hours = _hours_en(h)
        lines.append(f"• {h.number} – {EMERGENCY_NAMES_EN.get(h.number, h.organisation)}" + (f" ({hours})" if hours else ""))
    choice = library.hotlines.counseling_for(province, library.provinces)
    for h in choice.own:
        where = h.province if choice.named_own or province is None else f"{h.province} (now part of {province.current})"
        hours = _hours_en(h)
        lines.append(f"• Counseling line in {where}" + (f" ({hours})" if hours else "") + f": {h.number} – {h.organisation}")
    for h in choice.national:
        hours = _hours_en(h)
        lines.append("• National counseling line" + (f" ({hours})" if hours else "") + f": {h.number} – {h.organisation}")
    if province is not None and not choice.own and choice.national:
        lines.append(f"{_label_en(province)} has no counseling line of its own in our directory: the national lines "
                     "above take calls from every province.")
    return "\n".join(lines)


def urgent_reply_en(result: TriageResult, library: Library, province: ProvinceMatch | None,
                    case_id: int | None, recorded: bool) -> str:
    """The same-turn English reply to someone in danger or needing support: care, numbers, what happens next."""
    if result.urgency == DANGER_NOW:
        opening = ("I am very worried about your safety. If you or someone else is in danger right now, call 113 "
                   "(police) now or ask someone nearby to call for you, and go somewhere safe if you can.")
    else:
        opening = ("Thank you for telling me. What is happening to you is not your fault, and you do not have to "
                   "face it alone.")
    numbers = "Numbers you can call now:\n" + hotline_block_en(library, province)
    if recorded:
        ref = f" (case #{case_id})" if case_id else ""
        after = (f"I have passed your message to a counselor{ref}. A counselor will write to you here in this chat "
                 "as soon as possible; they may answer in Vietnamese. If you are in danger, do not wait: call 113.")
    else:
        after = ("Right now I could not pass your message to a counselor because of a technical problem, so please "
                 'call the numbers above directly. You can also write "counselor" here later to try again.')
    return f"{opening}\n\n{numbers}\n\n{after}"


def safety_check_en(library: Library, province: ProvinceMatch | None) -> str:
    """The short English safety check: is anyone in danger now? With the numbers and how to reach a counselor."""
    return ("I want to make sure you are safe. Are you, or the person you are writing about, in danger right now?"
            "\n\nIf yes, call 113 (police) now. You can answer with the buttons below or write to me. "
            f"{ASK_COUNSELOR}.\n\n{hotline_block_en(library, province)}")


def info_reply_en(library: Library, province: ProvinceMatch | None) -> str:
    """What this assistant is, that a counselor can be reached here and how, and the numbers, in English."""
    return ("Hello! I am the automatic assistant of the Vietnam Women's Union for the Action Month for gender "
            "equality and against gender-based violence (every year from 15 November to 15 December). I mostly "
            "answer in Vietnamese, but a counselor can be reached here in this chat: write \"counselor\" and a "
            "counselor will reply as soon as they can (they may answer in Vietnamese)."
            f"\n\nIf you or someone else is in danger, call:\n{hotline_block_en(library, province)}")
