"""Fixtures for action tests: dispatcher, domain, tracker factory and fake services."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.cases.store import CaseStore
from bot.config import ROOT
from bot.runtime import fixed_runtime, set_process_runtime


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """Collects the messages an action sends."""
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The assistant's domain (core part)."""
    return yaml.safe_load((ROOT / "domain" / "core.yml").read_text(encoding="utf-8"))


@pytest.fixture
def services(library, store: CaseStore):
    """Real content and a temporary database, with a fixed date."""
    rt = fixed_runtime(library, store, today=lambda: date(2026, 11, 22))
    set_process_runtime(rt)
    yield rt
    set_process_runtime(None)


def make_tracker(text: str, intent: str = "report_violence", confidence: float = 0.95,
                 sender: str = "telegram:77", slots: dict | None = None, events: list | None = None,
                 message_id: str | None = "mid-1", parse_data: dict | None = None) -> Tracker:
    """A tracker whose latest message is `text` classified as `intent` (plus extra parse data)."""
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": [],
              "message_id": message_id, **(parse_data or {})}
    return Tracker(sender, slots or {}, latest, events or [], False, None, {}, "action_listen")
