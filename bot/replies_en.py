"""English replies for residents who write in English (or another language the bot does not speak).

Guarantees: every reply carries the emergency numbers and the counseling lines chosen by the hotline directory
exactly as the Vietnamese replies do (a province's own line only to that province, national lines to everyone),
says that a counselor can be reached in this chat (and may answer in Vietnamese) and how to ask; the replies that
carry numbers are bot.replies' own composers with the English `Phrases` table `EN`.
"""

from __future__ import annotations

from bot.content.hotlines import Hotline
from bot.content.library import Library
from bot.content.provinces import ProvinceMatch
from bot.replies import Phrases, hotline_block, urgent_reply
from bot.triage import TriageResult

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


def _emergency_en(line: Hotline) -> str:
    hours = _hours_en(line)
    return f"• {line.number} – {EMERGENCY_NAMES_EN.get(line.number, line.organisation)}" + (f" ({hours})" if hours else "")


EN = Phrases(
    hours=_hours_en, emergency=_emergency_en, label=_label_en,
    own_line="• Counseling line in {where}{hours}: {number} – {organisation}",
    part_of="{province} (now part of {current})",
    national_line="• National counseling line{hours}: {number} – {organisation}",
    no_own_line="{label} has no counseling line of its own in our directory: the national lines above take calls "
                "from every province.",
    danger_opening=("I am very worried about your safety. If you or someone else is in danger right now, call 113 "
                    "(police) now or ask someone nearby to call for you, and go somewhere safe if you can."),
    support_opening=("Thank you for telling me. What is happening to you is not your fault, and you do not have to "
                     "face it alone."),
    numbers_title="Numbers you can call now:",
    case_ref=" (case #{id})",
    passed=("I have passed your message to a counselor{ref}. A counselor will write to you here in this chat "
            "as soon as possible; they may answer in Vietnamese. If you are in danger, do not wait: call 113."),
    passed_on_duty=None, passed_later=None,
    not_passed=("Right now I could not pass your message to a counselor because of a technical problem, so please "
                'call the numbers above directly. You can also write "counselor" here later to try again.'),
)


def hotline_block_en(library: Library, province: ProvinceMatch | None) -> str:
    """Emergency numbers, the province's own counseling line if any, and the national lines, in English."""
    return hotline_block(library, province, EN)


def urgent_reply_en(result: TriageResult, library: Library, province: ProvinceMatch | None,
                    case_id: int | None, recorded: bool) -> str:
    """The same-turn English reply to someone in danger or needing support: care, numbers, what happens next."""
    return urgent_reply(result, library, province, case_id, recorded, phrases=EN)


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
