"""Rasa from the desk's side: the API client (token, errors), the transcript read from the tracker store."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest

from bot.desk.rasa import RasaClient, TranscriptReader, bot_event, tracker_engine
from bot.outbox.errors import RetryLater
from tests.fakes.rasa import FakeRasa

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


async def test_events_reach_rasa_with_the_token_and_the_transcript_shows_them(engine, tmp_path: Path) -> None:
    rasa = await FakeRasa("good-token", str(tmp_path / "tracker.db"), engine).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{rasa.url}/webhooks/rest/webhook",
                                 json={"sender": "zalo:55", "message": "Xin chào"}) as resp:
                assert (await resp.json())[0]["text"]
            client = RasaClient(http, rasa.url, "good-token")
            await client.append_events("zalo:55", [{"event": "pause"}])
            assert await rasa.is_paused("zalo:55")
            await client.append_events("zalo:55", [bot_event("Chị là tư vấn viên", 1, "counselor", NOW, "k1")])
            await client.append_events("zalo:55", [{"event": "resume"}])
            assert not await rasa.is_paused("zalo:55")
            with pytest.raises(RetryLater, match="token"):
                await RasaClient(http, rasa.url, "wrong").append_events("zalo:55", [{"event": "pause"}])
            with pytest.raises(RetryLater, match="RASA_AUTH_TOKEN"):
                await RasaClient(http, rasa.url, None).append_events("zalo:55", [{"event": "pause"}])
            with pytest.raises(RetryLater, match="unreachable"):
                await RasaClient(http, "http://127.0.0.1:9", "t").append_events("zalo:55", [{"event": "pause"}])
        assert not await rasa.is_paused("zalo:55")
        reader = TranscriptReader(tracker_engine(f"sqlite:///{tmp_path / 'tracker.db'}"))
        lines = reader.read("zalo:55")
        assert [(line.who, line.text) for line in lines] == [
            ("resident", "Xin chào"), ("bot", "Chào bạn, mình là trợ lý tự động."),
            ("counselor", "Chị là tư vấn viên")]
        assert lines[-1].at == NOW
        assert reader.delivered_keys("zalo:55") == {"k1"}
        assert reader.read("someone-else") == []
    finally:
        await rasa.stop()


async def test_missing_tracker_store_is_not_an_error(tmp_path: Path) -> None:
    reader = TranscriptReader(tracker_engine(f"sqlite:///{tmp_path / 'absent.db'}"))
    assert reader.read("x") == []
    assert reader.delivered_keys("x") is None
    assert TranscriptReader(None).read("x") == []
