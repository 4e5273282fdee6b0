"""Fixtures for the staff tools: a private copy of the repository's content and training data."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers used here."""
    config.addinivalue_line("markers", "slow: takes more than a few seconds (real Rasa server or training)")


_PARTS = ("content", "data", "domain", "config.yml", "tests/eval/heldout.yml")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A temporary repository root with the committed content/, data/, domain/, config.yml and held-out set.

    Taken from git HEAD so that colleagues' uncommitted edits in the shared tree do not change these tests
    (tests that check the live content read the working tree directly); copied when git is unavailable.
    """
    root = tmp_path / "repo"
    root.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD", *_PARTS], capture_output=True, check=False)
    if archive.returncode == 0:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(root)  # our own repository's archive
        return root
    for name in _PARTS:
        src, dst = ROOT / name, root / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    return root


@pytest.fixture
def day() -> date:
    """The date the content was last reviewed (every `checked` in content/ is this day or earlier)."""
    return date(2026, 12, 2)

