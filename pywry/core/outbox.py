"""Per-widget outbox: every sequenced message, bounded by count, bytes and age, for replay."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .protocol import sequenced

if TYPE_CHECKING:
    from ..config import ServerSettings

GAP = None  # returned by `since` when the requested history is no longer kept


class Outbox:
    """Ordered log of one stream's messages: a widget's, one page's or one session's.

    `seq` is strictly increasing and assigned here, under a lock, so emits from any thread get a
    total order. Each message is encoded once; every peer reads the same text. `key` names the
    stream in a shared store (the widget's label for its own stream), `field` is the JSON field
    that carries the position (`seq`, `cseq`, `sseq`).

    At most `size` messages and `max_bytes` of encoded text (0: no byte bound) are kept; the
    oldest go first, and the newest is always kept so the pages connected now still get it. A
    page that comes back for messages that went is told to resynchronise.
    """

    __slots__ = (
        "_lock", "_entries", "seq", "max_age", "_first", "key", "field", "size", "max_bytes",
        "bytes",
    )  # fmt: skip

    def __init__(
        self,
        size: int,
        max_age: float,
        seq: int = 0,
        *,
        key: str = "",
        field: str = "seq",
        max_bytes: int = 0,
    ) -> None:
        self.key = key
        self.field = field
        self._lock = threading.Lock()
        self._entries: deque[tuple[int, float, str]] = deque()
        self.seq = seq
        self.max_age = max_age
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0  # length of the kept texts (JSON: bytes for ASCII)
        self._first = seq + 1  # lowest seq still kept (or seq+1 when empty)

    @classmethod
    def configured(
        cls, server: ServerSettings, key: str, seq: int = 0, field: str = "seq"
    ) -> Outbox:
        """An outbox with the bounds the settings give (`OUTBOX_SIZE`, `_MAX_AGE`, `_MAX_BYTES`)."""
        return cls(
            server.outbox_size,
            server.outbox_max_age,
            seq,
            key=key,
            field=field,
            max_bytes=server.outbox_max_bytes,
        )

    def append(self, kind: str, data: Any) -> tuple[int, str]:
        """Assign the next seq, encode once, keep it; returns (seq, text)."""
        with self._lock:
            seq = self.seq + 1
            text = sequenced(kind, data, seq, self.field)
            self._keep(seq, text)
            return seq, text

    def _keep(self, seq: int, text: str) -> None:
        """Keep a message as the newest, then let the oldest go past the count and byte bounds."""
        entries = self._entries
        entries.append((seq, time.monotonic(), text))
        self.bytes += len(text)
        self.seq = seq
        limit = self.max_bytes
        while len(entries) > self.size or (limit and self.bytes > limit and len(entries) > 1):
            self.bytes -= len(entries.popleft()[2])
        self._first = entries[0][0]

    def forget(self) -> int:
        """Drop every kept message (the position stays); returns the bytes freed."""
        with self._lock:
            freed = self.bytes
            self._entries.clear()
            self.bytes = 0
            self._first = self.seq + 1
            return freed

    def append_encoded(self, seq: int, text: str) -> bool:
        """Keep a message whose seq was assigned elsewhere (a shared backend). False if old."""
        with self._lock:
            if seq <= self.seq:
                return False
            if seq != self.seq + 1:
                self._entries.clear()  # a hole: older entries can no longer serve a replay
                self.bytes = 0
            self._keep(seq, text)
            return True

    def advance(self, seq: int) -> None:
        """Jump to `seq` (another worker sent what lies between); older entries stop counting."""
        with self._lock:
            if seq > self.seq:
                self._entries.clear()
                self.bytes = 0
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
            self.bytes -= len(entries.popleft()[2])
        self._first = entries[0][0] if entries else self.seq + 1

    def __len__(self) -> int:
        return len(self._entries)
