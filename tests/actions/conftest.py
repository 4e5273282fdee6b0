"""Fixtures for action tests: dispatcher, domain, tracker factory and fake services."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.assistant import Services, set_services
from bot.cases import CaseStore
from bot.config import ROOT


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
    svc = Services(library, store, today=lambda: date(2026, 11, 22))
    set_services(svc)
    yield svc
    set_services(None)


def make_tracker(text: str, intent: str = "report_violence", confidence: float = 0.95,
                 sender: str = "telegram:77", slots: dict | None = None, events: list | None = None,
                 message_id: str | None = "mid-1") -> Tracker:
    """A tracker whose latest message is `text` classified as `intent`."""
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": [],
              "message_id": message_id}
    return Tracker(sender, slots or {}, latest, events or [], False, None, {}, "action_listen")
