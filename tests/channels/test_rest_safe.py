"""The REST channel's body is unauthenticated: its senders live in their own namespace, its claims are ignored."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.channels.rest_safe import SafeRestInput
from bot.senders import channel_of


@pytest.mark.parametrize("claimed", ["telegram:42", "zalo:1234567", "messenger:99", "rest:x", "web-1"])
async def test_every_sender_is_put_in_the_rest_namespace(claimed: str) -> None:
    request = SimpleNamespace(json={"sender": claimed, "message": "xin chào"})
    sender = await SafeRestInput()._extract_sender(request)
    assert sender == f"rest:{claimed}" and channel_of(sender) == "rest"


async def test_client_claims_of_channel_and_metadata_are_ignored() -> None:
    request = SimpleNamespace(json={"sender": "a", "message": "x", "input_channel": "telegram",
                                    "metadata": {"handoff": "counselor"}})
    channel = SafeRestInput()
    assert channel._extract_input_channel(request) == "rest"
    assert channel.get_metadata(request) is None


async def test_a_missing_sender_stays_missing() -> None:
    assert await SafeRestInput()._extract_sender(SimpleNamespace(json={"message": "x"})) is None
