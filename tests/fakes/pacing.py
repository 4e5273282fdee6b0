"""Send-rate enforcement and per-recipient counts shared by the fake platforms (off unless a test turns it on)."""

from __future__ import annotations

import time
from collections import Counter, deque


class SendPace:
    """A sliding one-second window: more than `per_second` accepted sends in it are refused (429 / -32 / 613)."""

    def __init__(self) -> None:
        """No limit until `limit()` is called."""
        self.per_second: float | None = None
        self.refused = 0
        self.counts: Counter[str] = Counter()   # accepted messages per recipient
        self.closed: set[str] = set()           # recipients whose messaging window is closed
        self._stamps: deque[float] = deque()

    def limit(self, per_second: float | None) -> None:
        """Refuse sends beyond `per_second` in any one-second window (None: no limit)."""
        self.per_second = per_second
        self._stamps.clear()

    def allow(self) -> bool:
        """True when one more send fits the limit now (and count it); False: refuse it."""
        now = time.monotonic()
        while self._stamps and now - self._stamps[0] >= 1.0:
            self._stamps.popleft()
        if self.per_second is not None and len(self._stamps) >= self.per_second:
            self.refused += 1
            return False
        self._stamps.append(now)
        return True

    def accepted(self, recipient: str) -> None:
        """Count one message accepted for a recipient."""
        self.counts[str(recipient)] += 1
