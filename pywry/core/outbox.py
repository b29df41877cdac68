"""Per-widget outbox: every sequenced message, bounded by count and age, for fan-out and replay."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from .protocol import sequenced

GAP = None  # returned by `since` when the requested history is no longer kept


class Outbox:
    """Ordered log of one stream's messages: a widget's, one page's or one session's.

    `seq` is strictly increasing and assigned here, under a lock, so emits from any thread get a
    total order. Each message is encoded once; every peer reads the same text. `key` names the
    stream in a shared store (the widget's label for its own stream), `field` is the JSON field
    that carries the position (`seq`, `cseq`, `sseq`).
    """

    __slots__ = ("_lock", "_entries", "seq", "max_age", "_first", "key", "field")

    def __init__(
        self, size: int, max_age: float, seq: int = 0, *, key: str = "", field: str = "seq"
    ) -> None:
        self.key = key
        self.field = field
        self._lock = threading.Lock()
        self._entries: deque[tuple[int, float, str]] = deque(maxlen=size)
        self.seq = seq
        self.max_age = max_age
        self._first = seq + 1  # lowest seq still kept (or seq+1 when empty)

    def append(self, kind: str, data: Any) -> tuple[int, str]:
        """Assign the next seq, encode once, keep it; returns (seq, text)."""
        with self._lock:
            seq = self.seq + 1
            text = sequenced(kind, data, seq, self.field)
            self._entries.append((seq, time.monotonic(), text))
            self.seq = seq
            self._first = self._entries[0][0]
            return seq, text

    def append_encoded(self, seq: int, text: str) -> bool:
        """Keep a message whose seq was assigned elsewhere (a shared backend). False if old."""
        with self._lock:
            if seq <= self.seq:
                return False
            if seq != self.seq + 1:
                self._entries.clear()  # a hole: older entries can no longer serve a replay
            self._entries.append((seq, time.monotonic(), text))
            self.seq = seq
            self._first = self._entries[0][0]
            return True

    def advance(self, seq: int) -> None:
        """Jump to `seq` (another worker sent what lies between); older entries stop counting."""
        with self._lock:
            if seq > self.seq:
                self._entries.clear()
                self.seq = seq
                self._first = seq + 1

    def since(self, after: int) -> list[str] | None:
        """Messages with seq > after, or None when part of that range is gone."""
        with self._lock:
            if after == self.seq:
                return []
            if after > self.seq:
                return GAP  # the client saw more than we have: we restarted
            self._expire()
            if after + 1 < self._first:
                return GAP
            start = after + 1 - self._first
            entries = self._entries
            return [entries[i][2] for i in range(start, len(entries))]

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.max_age
        entries = self._entries
        while entries and entries[0][1] < cutoff:
            entries.popleft()
        self._first = entries[0][0] if entries else self.seq + 1

    def __len__(self) -> int:
        return len(self._entries)
