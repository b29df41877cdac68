"""Per-client memory for de-duplication (which event ids were handled) and presence."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ..state.dedup import admit


@dataclass(slots=True)
class ClientState:
    """What the server keeps for a browser client during the reconnect window."""

    floor: int = 0  # every event id up to this one was handled
    seen: tuple[int, ...] = ()  # handled ids above the floor (`dedup.admit`)
    connections: int = 0
    gone_at: float | None = None


class ClientTable:
    """`(label, client) -> ClientState` for the memory backend."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], ClientState] = {}
        self._lock = threading.Lock()

    def accept(self, label: str, client: str, ident: int) -> bool:
        """Record event `ident`; False when it was handled before (a resend after reconnect)."""
        state = self._clients.get((label, client))
        if state is None:  # an HTTP post with no open stream: expire it like a gone client
            state = self._clients.setdefault((label, client), ClientState(gone_at=time.monotonic()))
        record = admit(state.floor, state.seen, ident)
        if record is None:
            return False
        state.floor, state.seen = record
        return True

    def connected(self, label: str, client: str) -> None:
        """A connection of this client opened."""
        with self._lock:
            state = self._clients.setdefault((label, client), ClientState())
            state.connections += 1
            state.gone_at = None

    def disconnected(
        self, label: str, client: str, *, leaving: bool = False, linger: float = 0.0
    ) -> None:
        """A connection closed; `leaving` means the page said it is gone for good.

        `linger` (HTTP streams, which end and reopen all the time) keeps the client's place
        that many seconds longer.
        """
        with self._lock:
            state = self._clients.get((label, client))
            if state is None:
                return
            state.connections = max(0, state.connections - (0 if leaving else 1))
            if leaving or state.connections == 0:
                state.gone_at = time.monotonic() + (0.0 if leaving else linger)

    def expire(self, window: float) -> int:
        """Forget clients gone for longer than the reconnect window; returns how many."""
        cutoff = time.monotonic() - window
        with self._lock:
            dead = [
                k
                for k, s in self._clients.items()
                if s.connections == 0 and s.gone_at is not None and s.gone_at < cutoff
            ]
            for k in dead:
                del self._clients[k]
        return len(dead)

    def drop_widget(self, label: str) -> None:
        """Forget every client of a removed widget."""
        with self._lock:
            for k in [k for k in self._clients if k[0] == label]:
                del self._clients[k]

    def __len__(self) -> int:
        return len(self._clients)
