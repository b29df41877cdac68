"""A page's own ordered stream and its session's, beside the widget's.

Replies and sender-scoped emits go to the stream of the page that sent the event (`cseq`);
session-scoped ones to the stream every page of that session follows (`sseq`). They are kept
for the reconnect window only, never in the widget's outbox, and cost no other page anything.
Each is bounded like an outbox; all of them together by `REPLIES_MAX_BYTES` (`trim`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..config import ServerSettings
from .outbox import Outbox

CLIENT = "c"
SESSION = "s"
FIELDS = {CLIENT: "cseq", SESSION: "sseq"}


def stream_key(label: str, scope: str, who: str) -> str:
    """The stream's name in a shared store: `{label}~c~{client}` or `{label}~s~{session}`.

    Labels, client ids and session ids never contain `~`, so the key splits back unambiguously.
    """
    return f"{label}~{scope}~{who}"


def split_key(key: str) -> tuple[str, str, str] | None:
    """`(label, scope, who)` of a stream key, or None for a widget's own label."""
    parts = key.split("~")
    if len(parts) != 3 or parts[1] not in FIELDS:
        return None
    return parts[0], parts[1], parts[2]


class Streams:
    """Every page and session stream of one app, created on first use, dropped when idle."""

    def __init__(self, settings: Callable[[], ServerSettings]) -> None:
        self._settings = settings
        self._streams: dict[str, tuple[Outbox, list[float]]] = {}
        self._lock = threading.Lock()
        self._total = 0  # bytes kept by every stream, as last counted plus what was added since

    def get(self, key: str, seq: int = 0) -> Outbox:
        """The stream called `key` (made, starting after `seq`, when new)."""
        found = self._streams.get(key)
        if found is None:
            with self._lock:
                found = self._streams.get(key)
                if found is None:
                    split = split_key(key)
                    field = FIELDS[split[1]] if split else "seq"
                    outbox = Outbox.configured(self._settings(), key, seq, field)
                    found = self._streams[key] = (outbox, [time.monotonic()])
        found[1][0] = time.monotonic()
        return found[0]

    def find(self, key: str) -> Outbox | None:
        """The stream called `key` if this app has it."""
        found = self._streams.get(key)
        return None if found is None else found[0]

    def expire(self, idle: float, keep: set[str]) -> int:
        """Drop streams unused for `idle` seconds, except those in `keep`; returns how many."""
        cutoff = time.monotonic() - idle
        with self._lock:
            dead = [
                k for k, (_, used) in self._streams.items() if used[0] < cutoff and k not in keep
            ]
            for key in dead:
                del self._streams[key]
        return len(dead)

    def grew(self, added: int, budget: int) -> bool:
        """A stream now keeps `added` more bytes; True when all of them are over `budget`.

        No lock on this path (every reply passes here): two threads adding at once may lose
        one addition, which only delays a trim; `trim` counts the streams afresh.
        """
        self._total += added
        return self._total > budget

    def trim(self, budget: int, keep: set[str]) -> int:
        """Keep at most `budget` bytes in all streams: the least recently used lose their
        history first; those in `keep` (followed by a connected page, or just written to, so
        possibly not delivered yet) keep theirs. Returns the bytes freed.

        A page whose history went is moved past it when it comes back (`pywry:skip`).
        """
        with self._lock:
            found = list(self._streams.items())
        total = sum(outbox.bytes for _, (outbox, _) in found)
        freed = 0
        if total > budget:
            found.sort(key=lambda item: item[1][1][0])
            for key, (outbox, _) in found:
                if total - freed <= budget:
                    break
                if key not in keep:
                    freed += outbox.forget()
        with self._lock:
            self._total = total - freed
        return freed

    def drop_widget(self, label: str) -> None:
        """Forget every stream of a removed widget."""
        prefix = label + "~"
        with self._lock:
            for key in [k for k in self._streams if k.startswith(prefix)]:
                del self._streams[key]

    def heads(self) -> list[tuple[str, int]]:
        """(key, last seq) of every stream: what a store that lost its data must not go below."""
        with self._lock:
            return [(key, outbox.seq) for key, (outbox, _) in self._streams.items() if outbox.seq]

    def __len__(self) -> int:
        return len(self._streams)
