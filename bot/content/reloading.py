"""Content that follows staff edits: reloaded when a file under content/ changes, last good kept on error."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.content.library import Library

log = logging.getLogger(__name__)
RELOAD_CHECK_S = 15.0


def content_stamp(folder: Path) -> float:
    """The newest modification time of any file under the content folder."""
    newest = 0.0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
            except OSError:
                continue
    return newest


class ContentLibrary:
    """The process's content; `current` is checked against the files at most every `check_every` seconds."""

    def __init__(self, folder: Path | None, library: Library, *, check_every: float = RELOAD_CHECK_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """`folder` None means fixed content (tests); otherwise it is watched."""
        self.folder = folder
        self.check_every = check_every
        self._library = library
        self._monotonic = monotonic
        self._stamp = content_stamp(folder) if folder is not None else 0.0
        self._checked_at = monotonic()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path, *, check_every: float = RELOAD_CHECK_S) -> ContentLibrary:
        """Read the content folder (raises if it is broken at start) and watch it."""
        return cls(folder, Library.load(folder), check_every=check_every)

    @classmethod
    def fixed(cls, library: Library) -> ContentLibrary:
        """Content that never reloads."""
        return cls(None, library)

    @property
    def current(self) -> Library:
        """The newest good content (reloaded here when the files changed)."""
        if self.folder is not None and self._monotonic() - self._checked_at >= self.check_every:
            self.reload_if_changed()
        return self._library

    def reload_if_changed(self) -> bool:
        """Reload when a file changed since the last load; keep the old content if the edit is broken."""
        if self.folder is None:
            return False
        with self._lock:
            self._checked_at = self._monotonic()
            stamp = content_stamp(self.folder)
            if stamp == self._stamp:
                return False
            try:
                library = Library.load(self.folder)
            except Exception:  # a broken edit must not take the bot down
                log.exception("content reload failed; the previous content stays in use")
                self._stamp = stamp  # do not retry the same broken files every call
                return False
            self._library, self._stamp = library, stamp
            log.info("content reloaded")
            return True
