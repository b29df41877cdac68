"""The interface every shared state backend implements.

The memory backend is the engine's own in-process structures; a shared backend (sqlite, redis)
adds what several workers need to agree on: the widget store, a global per-widget `seq` and
outbox, event de-duplication, routing of events to the worker that holds a widget's callbacks,
and the live connections of every widget (for collection and heartbeats).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from ..config import PyWrySettings
from ..core.protocol import decode_object

#: A decoded JSON object (an event, or its reply, routed between workers).
JsonObject = dict[str, Any]


class BackendUnavailable(ConnectionError):
    """The shared store cannot be reached right now (Redis down, database locked for too long)."""


class BackendStartError(RuntimeError):
    """The state backend could not be opened at start-up; the message is one line that names
    the setting to fix (a server stops with it rather than wait for a store that is not there)."""


Outgoing = tuple[str, str, str, str, str]
"""One message to publish: (stream key, type, data as JSON, seq field, message id)."""


@dataclass(slots=True)
class WidgetData:
    """What every worker must know about a widget to serve its page and its sockets."""

    label: str
    token: str
    content: str
    title: str
    head: str
    kind: str
    theme: str
    per_visitor: bool
    owner: str
    seq: int = 0
    session: str = ""  # the session a per-visitor widget belongs to ("" while unclaimed)
    rules: str = ""  # who may open it, as JSON (`pywry.core.access.rules_text`); "" anyone

    def to_dict(self) -> dict[str, str | int | bool]:
        """Plain dict (for storage)."""
        return asdict(self)


# What a backend hands back to the engine as things happen on other workers.
MessageSink = Callable[[str, int, str], None]  # (label, seq, encoded message)
RoutedSink = Callable[[JsonObject], Awaitable[None]]  # an event routed to this worker
WidgetSink = Callable[[str, str, str], None]  # (label, "deleted" | "updated", by worker)


class Backend(ABC):
    """Shared state for several workers. All methods run on the engine's event loop."""

    name = "abstract"
    setting = "PYWRY_DEPLOY__STATE_BACKEND"  # the setting that says where the store is

    # The engine's sinks, set by start() before connect() begins delivering to them.
    on_message: MessageSink
    on_routed: RoutedSink
    on_widget: WidgetSink

    def __init__(self, settings: PyWrySettings, worker_id: str) -> None:
        self.settings = settings
        self.worker_id = worker_id
        server = settings.server
        # a page's or session's own stream is replayed within the reconnect window only
        self.stream_ttl = int(max(60.0, server.reconnect_timeout * 2 + server.outbox_max_age))

    async def start(
        self, on_message: MessageSink, on_routed: RoutedSink, on_widget: WidgetSink
    ) -> None:
        """Connect, subscribe, and begin delivering other workers' messages to the sinks."""
        self.on_message, self.on_routed, self.on_widget = on_message, on_routed, on_widget
        await self.connect()

    def where(self) -> str:
        """Where the store is, as `setting` gives it (secrets masked)."""
        return self.name

    def open_error(self, exc: BaseException) -> BackendStartError:
        """The start-up error for `exc`: one line naming the setting and what went wrong."""
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return BackendStartError(
            f"{self.setting}={self.where()}: the {self.name} state backend cannot be opened "
            f"({reason})"
        )

    @abstractmethod
    async def connect(self) -> None:
        """Connect (again, after an outage) and begin delivering to the sinks given to start()."""

    async def deliver_routed(self, raw: str | bytes) -> None:
        """Hand a routed event or reply (JSON text) to the engine; a failing handler is logged."""
        try:
            await self.on_routed(decode_object(raw))
        except Exception:  # noqa: BLE001
            logging.getLogger(f"pywry.state.{self.name}").exception("routed event failed")

    @abstractmethod
    async def stop(self) -> None:
        """Release connections and background work."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise BackendUnavailable unless the store answers."""

    # -- widgets -------------------------------------------------------------------------------
    @abstractmethod
    async def save_widget(self, data: WidgetData) -> tuple[str, int]:
        """Store a widget; an existing live record keeps its token. Returns (token, seq).

        `data.seq` is this worker's last known seq: a store that lost it continues from there.
        """

    @abstractmethod
    async def load_widget(self, label: str) -> WidgetData | None:
        """The stored widget, or None."""

    @abstractmethod
    async def update_widget(self, label: str, **fields: str) -> None:
        """Change stored fields (content after update(), theme) and tell the other workers."""

    @abstractmethod
    async def delete_widget(self, label: str) -> None:
        """Remove a widget and everything kept for it, and tell the other workers."""

    # -- messages ------------------------------------------------------------------------------
    @abstractmethod
    async def stream_head(self, key: str) -> int:
        """The last seq of a page's or session's stream (0 for none)."""

    @abstractmethod
    async def load_session(self, sid: str) -> str | None:
        """The stored text of session `sid`, or None."""

    @abstractmethod
    async def save_session(self, sid: str, text: str, ttl: int) -> None:
        """Store session `sid` for `ttl` seconds."""

    @abstractmethod
    async def publish(self, items: list[Outgoing]) -> list[int]:
        """Sequence and store messages in order, then broadcast; returns their seqs.

        Publishing the same `mid` again (a retry after an error whose write did land) returns
        the seq it got the first time and stores or broadcasts nothing more.
        """

    @abstractmethod
    async def restore_heads(self, heads: list[tuple[str, int]]) -> None:
        """Make each page/session stream's seq at least the one given (after the store lost
        its data, a stream that restarted at 1 would repeat positions pages have seen)."""

    @abstractmethod
    async def since(self, label: str, after: int) -> list[str] | None:
        """Stored messages with seq > after, or None when part of that range is gone."""

    # -- events --------------------------------------------------------------------------------
    @abstractmethod
    async def accept_event(self, label: str, client: str, ident: int, attempt: str = "") -> bool:
        """Record event `ident` of `client` atomically; False when it was handled before.

        `attempt` names this try, for `accepted_by` after an outage.
        """

    async def accepted_by(self, label: str, client: str, ident: int, attempt: str) -> bool:
        """Whether `attempt` recorded event `ident` although its answer never came back.

        Backends whose writes cannot land unanswered (one SQLite transaction) say no.
        """
        return False

    async def accept_and_route(
        self, label: str, client: str, ident: int, worker: str, payload: JsonObject
    ) -> int:
        """De-duplicate an event and hand it to its owner: -1 seen before, 0 owner gone, 1 sent.

        Backends that can do both in one round trip override this (the cross-worker hot path).
        """
        if not await self.accept_event(label, client, ident):
            return -1
        return 1 if await self.route(worker, payload) else 0

    @abstractmethod
    async def route(self, worker: str, payload: JsonObject) -> bool:
        """Hand an event (or a reply) to another worker; False when nobody can take it."""

    # -- liveness ------------------------------------------------------------------------------
    @abstractmethod
    async def heartbeat(self, connections: dict[str, list[str]]) -> None:
        """Mark this worker and its connections (label -> connection ids) alive."""

    @abstractmethod
    async def worker_alive(self, worker: str) -> bool:
        """True while `worker` keeps sending heartbeats."""

    @abstractmethod
    async def presence(self, label: str) -> tuple[int, float | None]:
        """(live connections of `label` on every worker, unix time it was last seen in use)."""

    @abstractmethod
    async def connection_closed(self, label: str, conn_id: str) -> None:
        """Forget one connection (it closed cleanly)."""
