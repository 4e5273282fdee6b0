"""The action server's services: content follows staff edits without a restart."""

import shutil
from pathlib import Path

import pytest

import bot.assistant as assistant
from bot.config import CONTENT_DIR


@pytest.fixture
def content_copy(tmp_path: Path, monkeypatch):
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    monkeypatch.setattr(assistant, "CONTENT_DIR", folder)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setattr(assistant, "RELOAD_CHECK_S", 0.0)
    assistant.set_services(None)
    yield folder
    assistant.set_services(None)


def test_hotline_change_is_picked_up(content_copy: Path) -> None:
    first = assistant.services()
    assert "0377672444" in first.library.hotlines.all_numbers()
    hotlines = content_copy / "hotlines.yml"
    hotlines.write_text(hotlines.read_text(encoding="utf-8").replace("0377672444", "0377000111"), encoding="utf-8")
    later = assistant.services()
    assert "0377000111" in later.library.hotlines.all_numbers()
    assert "0377672444" not in later.library.hotlines.all_numbers()


def test_broken_edit_keeps_previous_content(content_copy: Path) -> None:
    assistant.services()
    (content_copy / "hotlines.yml").write_text("emergency: [", encoding="utf-8")
    assert "113" in assistant.services().library.hotlines.all_numbers()


def test_tracker_location_follows_the_variable_rasa_reads(monkeypatch, tmp_path) -> None:
    from bot.config import ROOT, tracker_database_url

    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRACKER_SQLITE_PATH", "var/other.db")
    assert tracker_database_url() == f"sqlite:///{ROOT / 'var' / 'other.db'}"
    monkeypatch.setenv("TRACKER_SQLITE_PATH", str(tmp_path / "t.db"))
    assert tracker_database_url() == f"sqlite:///{tmp_path / 't.db'}"
