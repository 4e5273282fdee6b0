"""The process runtime: content follows staff edits without a restart; the last good content stays."""

import shutil
from pathlib import Path

import pytest

from bot.config import CONTENT_DIR
from bot.content.reloading import ContentLibrary
from bot.runtime import build_runtime


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    return folder


def _edit_hotline(folder: Path, old: str, new: str) -> None:
    hotlines = folder / "hotlines.yml"
    hotlines.write_text(hotlines.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_hotline_change_is_picked_up(content_copy: Path, tmp_path: Path) -> None:
    rt = build_runtime(content_copy, f"sqlite:///{tmp_path / 'app.db'}")
    rt.content.check_every = 0.0
    assert "0377672444" in rt.library.hotlines.all_numbers()
    _edit_hotline(content_copy, "0377672444", "0377000111")
    assert "0377000111" in rt.library.hotlines.all_numbers()
    assert "0377672444" not in rt.library.hotlines.all_numbers()


def test_changes_are_checked_at_most_every_interval(content_copy: Path) -> None:
    now = [0.0]
    content = ContentLibrary(content_copy, ContentLibrary.load(content_copy).current, check_every=15.0,
                             monotonic=lambda: now[0])
    _edit_hotline(content_copy, "0377672444", "0377000111")
    now[0] = 14.0
    assert "0377672444" in content.current.hotlines.all_numbers()
    now[0] = 15.0
    assert "0377000111" in content.current.hotlines.all_numbers()


def test_broken_edit_keeps_previous_content(content_copy: Path) -> None:
    content = ContentLibrary.load(content_copy, check_every=0.0)
    (content_copy / "hotlines.yml").write_text("emergency: [", encoding="utf-8")
    assert "113" in content.current.hotlines.all_numbers()


def test_a_dead_database_leaves_the_store_empty_but_the_content_loaded(content_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    rt = build_runtime(content_copy, f"sqlite:///{tmp_path / 'file' / 'app.db'}")
    assert rt.store is None
    assert "113" in rt.library.hotlines.all_numbers()


def test_tracker_location_follows_the_variable_rasa_reads(monkeypatch, tmp_path) -> None:
    from bot.config import ROOT, tracker_database_url

    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRACKER_SQLITE_PATH", "var/other.db")
    assert tracker_database_url() == f"sqlite:///{ROOT / 'var' / 'other.db'}"
    monkeypatch.setenv("TRACKER_SQLITE_PATH", str(tmp_path / "t.db"))
    assert tracker_database_url() == f"sqlite:///{tmp_path / 't.db'}"
