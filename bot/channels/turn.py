"""The safety policy of one resident event, as one function: what to answer, and whether it is urgent.

`decide_turn` guarantees: a conversation a counselor owns is forwarded, never answered by the bot;
an urgent message always ends with the hotline numbers and a case, unless the assistant's own reply
carries the case marker (or a case row exists for this very message); a non-urgent failure gets an
apology. A pressed "yes, in danger" of the safety check (`/safety_yes`) is urgent like a report, so it opens
the writer's own case even when the assistant is down. Urgency is assessed once per message, here. All I/O is passed in (`TurnIO`, `RunBot`),
so every branch is tested with fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.channels.items import ATTACHMENT, NOOP, TEXT, UNFOLLOW, WELCOME, BotReply, Item, Part
from bot.content.library import Library
from bot.replies import (
    ATTACHMENT_NAMES,
    SAFETY_BUTTONS,
    SAFETY_CONFIRMED_REASON,
    SAFETY_YES,
    WELCOME_FALLBACK,
    apology_reply,
    attachment_reply,
)
from bot.sending.splitting import text_parts
from bot.triage import DANGER_NOW, TriageResult, assess

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5            # an event that crashed processing this often is answered without the bot
GREET_PAYLOAD = "/greet"
BOT, SAFETY_NET, APOLOGY, NO_REPLY, HANDED_OFF = "bot", "safety_net", "apology", "no_reply", "handed_off"

RunBot = Callable[[Item, str], Awaitable[BotReply]]


@dataclass(frozen=True)
class Turn:
    """What one event produced: the parts to send (maybe none), urgency, and the outcome kept on the event."""

    parts: tuple[Part, ...]
    urgent: bool
    outcome: str


class TurnIO(Protocol):
    """What the policy needs from the outside world."""

    @property
    def library(self) -> Library:
        """The newest good content (for the numbers in every fallback reply)."""

    async def human_owner(self, sender_id: str) -> int | None:
        """The claimed case whose counselor owns the conversation (None when unknown: the bot answers)."""

    async def forward(self, case_id: int, note: str) -> None:
        """Record the message on the case for the counselor; raise when it cannot be recorded."""

    async def case_exists(self, message_id: str) -> bool:
        """Whether a case row was opened for this message."""

    async def safety_net(self, item: Item, text: str, verdict: TriageResult) -> tuple[Part, ...]:
        """Record a case without the assistant and return the hotline reply."""


def forwarded_note(item: Item) -> str:
    """What a counselor sees on the case for an event."""
    if item.kind == ATTACHMENT:
        return f"[Người dân gửi {ATTACHMENT_NAMES.get(item.data.get('attachment', 'other'), 'tệp đính kèm')}]"
    return item.text or ""


async def safety_net_needed(verdict: TriageResult, reply: BotReply, message_id: str | None,
                            case_exists: Callable[[str], Awaitable[bool]]) -> bool:
    """Urgent, and the assistant did not answer with a case: the channel must answer with the numbers."""
    if not verdict.urgent or (reply.parts and reply.case_marked):
        return False
    if reply.parts and message_id:
        # The marker can be lost (an older action server); the case row for the message is the proof.
        return not await case_exists(message_id)
    return True


def channel_verdict(text: str) -> TriageResult:
    """The channel's own verdict: the rules, and a pressed "yes, in danger" of the safety check is danger now."""
    if text.strip() == SAFETY_YES:  # only a button sends it (typed slashes are removed): the writer's own case
        return TriageResult(DANGER_NOW, (SAFETY_CONFIRMED_REASON,))
    return assess(text)


async def decide_turn(item: Item, run_bot: RunBot, io: TurnIO) -> Turn:
    """Hand-off, then the assistant, then the safety net: an urgent message always ends with a case and the numbers."""
    if item.kind in (UNFOLLOW, NOOP) or (item.kind == TEXT and not (item.text or "").strip()):
        return Turn((), False, item.kind)
    if item.kind in (TEXT, ATTACHMENT) and (case_id := await io.human_owner(item.sender_id)) is not None:
        await io.forward(case_id, forwarded_note(item))
        return Turn((), False, HANDED_OFF)
    if item.kind == ATTACHMENT:
        return Turn(text_parts(attachment_reply(item.data.get("attachment", "other"), io.library)), False,
                    "attachment")
    gave_up = item.attempts > MAX_ATTEMPTS
    if item.kind == WELCOME:
        greeting = BotReply() if gave_up else await run_bot(item, GREET_PAYLOAD)
        return Turn(greeting.parts or ((WELCOME_FALLBACK, None),), False, "welcome")
    text = item.text or ""
    verdict = channel_verdict(text)
    if gave_up:
        log.error("event failed %d times; answering without the bot (channel=%s)", item.attempts, item.channel)
        reply = BotReply(failed="gave up")
    else:
        reply = await run_bot(item, text)
    if await safety_net_needed(verdict, reply, item.key, io.case_exists):
        note = SAFETY_BUTTONS[0][0] if text.strip() == SAFETY_YES else text
        return Turn(reply.parts + await io.safety_net(item, note, verdict), True, SAFETY_NET)
    if reply.failed and not reply.parts:
        return Turn(text_parts(apology_reply(io.library)), False, APOLOGY)
    return Turn(reply.parts, verdict.urgent, BOT if reply.parts else NO_REPLY)
