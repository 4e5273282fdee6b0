"""All content in one object, loaded once by the process that needs it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.content.campaign import Campaign
from bot.content.events import Events
from bot.content.hotlines import Hotlines
from bot.content.provinces import Provinces


@dataclass
class Library:
    """Campaign facts, events, hotlines and provinces."""

    campaign: Campaign
    events: Events
    hotlines: Hotlines
    provinces: Provinces

    @classmethod
    def load(cls, content_dir: Path) -> Library:
        """Read every content file from a folder."""
        return cls(Campaign.load(content_dir / "campaign.yml"), Events.load(content_dir / "events.yml"),
                   Hotlines.load(content_dir / "hotlines.yml"), Provinces.load(content_dir / "provinces.yml"))
