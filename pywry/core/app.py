"""The engine: one per process, shared by every adapter. Adapters call it; it calls callbacks.

Data flows one way: adapter -> Connection -> App.handle_event -> Dispatcher -> callback ->
App.emit -> widget Outbox -> every Connection's writer -> adapter.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..config import PyWrySettings, get_settings
from ..state.backends import create_backend
from ..state.base import BackendUnavailable
from . import protocol as p
from .assets import Assets
from .clients import ClientTable
from .connection import Close, Connection, SendText
from .context import request_base
from .dispatch import Dispatcher
from .origins import OriginCheck, OriginPolicy
from .outbox import Outbox
from .page import render
from .shared import Shared
from .tokens import new_label, tokens_equal
from .widgets import Callback, Registry, Widget, check_callbacks, check_label

log = logging.getLogger("pywry")


class UnknownWidgetError(LookupError):
    """Raised when Python addresses a widget that does not exist (or was collected)."""


class App:
    """Widget registry, connections, dispatch and delivery for one process."""

    def __init__(
        self, settings: PyWrySettings | None = None, check_origin: OriginCheck | None = None
    ) -> None:
        self.settings = settings or get_settings()
        server = self.settings.server
        self.registry = Registry(server.max_widgets)
        self.clients = ClientTable()
        self.dispatcher = Dispatcher(server.callback_threads)
        self.origins = OriginPolicy(server.websocket_allowed_origins, check_origin)
        self.assets = Assets()
        self.connections: dict[str, set[Connection]] = {}
        self.default_base = ""
        self.public_url: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._sites: dict[str, int] = {}
        self.streams: dict[str, set[Callable[[], None]]] = {}  # issue 7: HTTP stream wake-ups
        self.worker_id = _worker_id(self.settings)
        self.shared: Shared | None = None
        backend = create_backend(self.settings, self.worker_id)
        if backend is not None:
            self.shared = Shared(self, backend)

    # -- widgets -------------------------------------------------------------------------------
    def add_widget(
        self,
        content: str,
        *,
        label: str | None = None,
        title: str = "PyWry",
        callbacks: dict[str, Callback] | None = None,
        head: str = "",
        kind: str = "html",
        theme: str | None = None,
        per_visitor: bool = False,
        state: dict[str, Any] | None = None,
    ) -> Widget:
        """Register (or idempotently re-register) a widget and return its record."""
        if not isinstance(content, str):
            raise TypeError(f"content must be an HTML string, not {type(content).__name__}")
        if not isinstance(title, str):
            raise TypeError(f"title must be a string, not {title!r}")
        if theme is not None and theme not in ("dark", "light", "system"):
            raise ValueError(f"theme {theme!r} must be 'dark', 'light' or 'system'")
        widget = Widget(
            label=self._auto_label(per_visitor) if label is None else check_label(label),
            content=content,
            outbox=Outbox(self.settings.server.outbox_size, self.settings.server.outbox_max_age),
            title=title,
            callbacks=check_callbacks(callbacks),
            head=head,
            kind=kind,
            theme=theme,
            per_visitor=per_visitor,
            state=state or {},
        )
        widget = self.registry.put(widget)
        if self.shared is not None:
            shared = self.shared
            widget.changed = lambda: shared.content_changed(widget)
            shared.register(widget)
        return widget

    def _auto_label(self, per_visitor: bool) -> str:
        """A label for a widget the author did not name.

        Per-visitor widgets get an unguessable one. A module-level widget gets one derived from
        where it was shown (file, line, and how many times that line ran), so every worker that
        runs the same module registers the same widget, as an explicit label would.
        """
        if per_visitor:
            return new_label()
        site = _call_site()
        with self._lock:
            count = self._sites.get(site, 0) + 1
            self._sites[site] = count
        digest = hashlib.sha256(f"{site}#{count}".encode()).hexdigest()[:16]
        return f"m-{digest}"

    def get(self, label: str) -> Widget | None:
        """The widget called `label`, or None."""
        return self.registry.get(label)

    def require(self, label: str) -> Widget:
        """The widget called `label`, or UnknownWidgetError."""
        widget = self.registry.get(label)
        if widget is None:
            raise UnknownWidgetError(f"no widget with label {label!r} (closed or never shown)")
        return widget

    def remove_widget(self, label: str) -> bool:
        """Close a widget (a Python action, never a browser's): its pages are told it is gone."""
        widget = self.registry.remove(label)
        if widget is None:
            return False
        if self.shared is not None and not widget.remote:
            self.shared.enqueue(("delete", label))
        self.clients.drop_widget(label)
        conns = self.connections.pop(label, set())
        if conns:
            self.call_on_loop(self._close_all, list(conns), p.CLOSE_UNKNOWN_WIDGET)
        return True

    async def close_connections(self, label: str, code: int = p.CLOSE_RESTART) -> int:
        """Close every connection of a widget (pages reconnect by themselves); returns how many.

        Returns once they are gone, so a following emit is certainly replayed on reconnect.
        """
        conns = list(self.connections.get(label, ()))
        for conn in conns:
            await conn.close(code, "closed by the server")
        for conn in conns:
            await conn.finished()
        return len(conns)

    def _close_all(self, conns: list[Connection], code: int) -> None:
        for conn in conns:
            asyncio.get_running_loop().create_task(conn.close(code, "widget closed"))

    # -- emitting ------------------------------------------------------------------------------
    def emit(self, label: str, kind: str, data: Any = None) -> int | None:
        """Send a sequenced message to every connection of the widget; safe from any thread."""
        p.check_event_name(kind)
        widget = self.require(label)
        return self.emit_to(widget, kind, data)

    def emit_to(self, widget: Widget, kind: str, data: Any) -> int | None:
        """`emit` for a widget record already in hand.

        Returns the message's seq, or None with a shared backend (it assigns seq on publishing).
        """
        if self.shared is not None:
            try:
                self.shared.emit(widget.label, kind, {} if data is None else data)
            except TypeError as exc:
                raise TypeError(f"data of event {kind!r} is not JSON-serialisable: {exc}") from None
            return None
        try:
            seq, _ = widget.outbox.append(kind, {} if data is None else data)
        except TypeError as exc:
            raise TypeError(f"data of event {kind!r} is not JSON-serialisable: {exc}") from None
        self.notify(widget.label)
        return seq

    def notify(self, label: str) -> None:
        """Wake the writers of every connection of `label` (hopping to the loop if needed)."""
        if label not in self.connections or self.loop is None:
            self._wake_streams(label)  # issue 7: HTTP streams need no loop (WSGI has none)
            return
        if threading.get_ident() == self._loop_thread:
            self._notify_now(label)
        else:
            try:
                self.loop.call_soon_threadsafe(self._notify_now, label)
            except RuntimeError:  # loop closed: the server stopped
                pass

    def _notify_now(self, label: str) -> None:
        for conn in self.connections.get(label, ()):
            conn.wake.set()
        self._wake_streams(label)  # issue 7

    # -- HTTP event streams (issue 7: added by the framework-adapters work) ----------------------
    def _wake_streams(self, label: str) -> None:
        """Wake every open HTTP event stream of `label`; safe from any thread."""
        wakers = self.streams.get(label)
        if wakers:
            for wake in tuple(wakers):
                wake()

    def add_stream(self, peer: Any, wake: Callable[[], None]) -> None:
        """Count an open HTTP event stream (`pywry.core.stream`) as a connection of its widget."""
        widget: Widget = peer.widget
        with self._lock:
            self.streams.setdefault(widget.label, set()).add(wake)
            widget.connections += 1
            widget.ever_connected = True
        widget.touch()
        self.clients.connected(widget.label, peer.client)
        if self.shared is not None:
            self.call_on_loop(self.shared.attached, peer)

    def remove_stream(self, peer: Any, wake: Callable[[], None], linger: float = 0.0) -> None:
        """Forget a closed HTTP event stream; its presence is kept `linger` seconds longer."""
        widget: Widget = peer.widget
        with self._lock:
            wakers = self.streams.get(widget.label)
            if wakers is not None:
                wakers.discard(wake)
                if not wakers:
                    self.streams.pop(widget.label, None)
            widget.connections = max(0, widget.connections - 1)
            widget.last_disconnect = time.monotonic() + linger
        widget.touch()
        self.clients.disconnected(widget.label, peer.client, linger=linger)
        if self.shared is not None:
            self.call_on_loop(self.shared.detached, peer)

    def call_on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the server loop (now, if already there)."""
        if self.loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            try:
                self.loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:
                pass

    # -- loop ----------------------------------------------------------------------------------
    def bind_loop(self) -> None:
        """Remember the running loop (adapters call this on every request; it is cheap)."""
        loop = asyncio.get_running_loop()
        if loop is self.loop:
            return
        with self._lock:
            if loop is self.loop:
                return
            self.loop = loop
            self._loop_thread = threading.get_ident()
            self._reaper = loop.create_task(self._reap_loop())
            if self.shared is not None:
                self._shared_start = loop.create_task(self.shared.start())

    async def prepare(self, label: str | None = None) -> None:
        """Make `label` servable here: wait for a shared backend, load another worker's widget.

        Adapters await this before answering a page, socket or stream request. With the memory
        backend it returns at once. Raises BackendUnavailable during a store outage.
        """
        self.bind_loop()
        shared = self.shared
        if shared is None:
            return
        if shared.down:
            raise BackendUnavailable("the state backend is unavailable")
        await shared.ready(label)
        if label is not None and label not in self.registry:
            await shared.load(label)

    async def page_html_async(
        self, label: str, base: str | None = None, *, websocket: bool = True
    ) -> str | None:
        """`page_html` that can also serve widgets registered on another worker."""
        await self.prepare(label)
        return self.page_html(label, base, websocket=websocket)

    async def fetch_since(self, widget: Widget, after: int) -> list[str] | None:
        """Messages after `after` that the local outbox no longer has, from the shared store."""
        if self.shared is None:
            return None
        try:
            texts = await self.shared.backend.since(widget.label, after)
        except BackendUnavailable as exc:
            self.shared.outage(exc)
            return []
        if texts is None:
            return None
        outbox = widget.outbox
        for i, text in enumerate(texts):
            outbox.append_encoded(after + 1 + i, text)
        if not texts:
            outbox.advance(after)
        return texts

    # -- pages ---------------------------------------------------------------------------------
    def base_path(self, base: str | None = None) -> str:
        """The base path for URLs: explicit > current request > adapter default."""
        if base is not None:
            return base.rstrip("/")
        current = request_base.get()
        return self.default_base if current is None else current

    def page_html(
        self, label: str, base: str | None = None, *, websocket: bool = True
    ) -> str | None:
        """The widget's page as served under `base`, or None for an unknown label."""
        widget = self.registry.get(label)
        if widget is None:
            return None
        widget.touch()
        base = self.base_path(base)
        with widget.lock:
            seq = widget.outbox.seq
            # the same page is asked for again and again (every visitor of a dashboard):
            # reuse it until anything it shows changes
            key = (
                base, websocket, seq, widget.token, widget.content, widget.head, widget.title,
                widget.theme,
            )  # fmt: skip
            cached = widget.page_cache
            if cached is not None and _same(cached[0], key):
                return cached[1]
            html = render(
                widget, base, seq, self.assets, websocket=websocket, settings=self.settings
            )
            widget.page_cache = (key, html)
            return html

    def resync_message(self, widget: Widget) -> str:
        """Sent when a reconnecting page asks for history that is gone."""
        return p.unsequenced("pywry:resync", {"seq": widget.outbox.seq, "label": widget.label})

    # -- admission and connections -------------------------------------------------------------
    def admit(
        self, label: str, token: str | None, origin: str | None, host: str | None
    ) -> tuple[Widget | None, int | None]:
        """Check a socket or stream request; returns (widget, None) or (None, close code)."""
        widget = self.registry.get(label)
        if widget is None:
            return None, p.CLOSE_UNKNOWN_WIDGET
        if not self.origins.allows(origin, host):
            log.warning("refused origin %r for widget %r", origin, label)
            return None, p.CLOSE_BAD_ORIGIN
        if not tokens_equal(widget.token, token):
            log.info("refused a bad or missing token for widget %r", label)
            return None, p.CLOSE_BAD_TOKEN
        return widget, None

    def attach(
        self, widget: Widget, client: str, after: int, send: SendText, close: Close
    ) -> Connection | None:
        """Register a new connection; None when the widget already has too many."""
        self.bind_loop()
        if widget.connections >= self.settings.server.max_connections_per_widget:
            log.warning("widget %r is at its connection limit", widget.label)
            return None
        conn = Connection(self, widget, client, after, send, close)
        if self.shared is not None:
            self.shared.attached(conn)
        self.connections.setdefault(widget.label, set()).add(conn)
        widget.connections += 1
        widget.ever_connected = True
        widget.touch()
        self.clients.connected(widget.label, client)
        conn.start()
        return conn

    def detach(self, conn: Connection) -> None:
        """Forget a closed connection; the widget and client stay for the reconnect window."""
        conns = self.connections.get(conn.label)
        if conns is None or conn not in conns:
            return
        conns.discard(conn)
        if not conns:
            self.connections.pop(conn.label, None)
        if self.shared is not None:
            self.shared.detached(conn)
        widget = conn.widget
        widget.connections = max(0, widget.connections - 1)
        widget.last_disconnect = time.monotonic()
        widget.touch()
        self.clients.disconnected(conn.label, conn.client)

    async def handle_event(self, conn: Connection, msg: p.Incoming) -> None:
        """Acknowledge, de-duplicate and dispatch one browser event."""
        widget = conn.widget
        shared = self.shared
        if shared is not None and widget.remote and self.dispatcher.find(widget, msg.type) is None:
            try:  # another worker holds the callbacks: de-duplicate and route in one step
                await shared.route_event(conn, msg)
            except BackendUnavailable as exc:
                shared.outage(exc)  # no ack: the page resends it once we are back
            return
        if msg.id is not None:
            if shared is None:
                fresh = self.clients.accept(widget.label, conn.client, msg.id)
            else:
                try:
                    fresh = await shared.accept(widget.label, conn.client, msg.id)
                except BackendUnavailable as exc:
                    shared.outage(exc)  # no ack: the page resends it once we are back
                    return
            conn.push(p.ack(msg.id))
            if not fresh:
                return
        await self.dispatcher.run(widget, msg, conn.push)

    def client_left(self, label: str, token: str | None, client: str | None) -> int:
        """A page said it is leaving (`/disconnect`); returns an HTTP status."""
        widget = self.registry.get(label)
        if widget is None:
            return 404
        if not tokens_equal(widget.token, token):
            return 401
        if client:
            self.clients.disconnected(label, client, leaving=True)
        return 204

    # -- housekeeping --------------------------------------------------------------------------
    def health(self, internal_token: str | None) -> dict[str, Any]:
        """Liveness; details only for the holder of the internal API token."""
        expected = self.settings.server.internal_api_token
        if not expected or not tokens_equal(expected, internal_token):
            return {"status": "ok"}
        return {
            "status": "ok",
            "worker": self.worker_id,
            "backend": str(getattr(self.settings.deploy.state_backend, "value", "memory")),
            "backend_available": not (self.shared is not None and self.shared.down),
            "widgets": len(self.registry),
            "connections": sum(len(c) for c in self.connections.values()),
            "clients": len(self.clients),
        }

    def reap(self) -> int:
        """Collect per-visitor widgets nobody uses and expired clients; returns widgets removed."""
        now = time.monotonic()
        server, deploy = self.settings.server, self.settings.deploy
        removed = 0
        for widget in self.registry.all():
            if widget.connections or self.shared is not None:
                continue  # with a shared backend, Shared._collect asks every worker first
            if widget.per_visitor:
                if widget.ever_connected:
                    dead = now - widget.last_disconnect > server.reconnect_timeout
                else:
                    dead = now - widget.created > deploy.connection_ttl
            else:
                dead = now - widget.last_used > deploy.widget_ttl
            if dead and self.remove_widget(widget.label):
                removed += 1
        self.clients.expire(server.reconnect_timeout)
        return removed

    async def _reap_loop(self) -> None:
        server, deploy = self.settings.server, self.settings.deploy
        interval = max(0.1, min(1.0, server.reconnect_timeout / 4, deploy.connection_ttl / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                self.reap()
            except Exception:  # noqa: BLE001 - housekeeping must never die
                log.exception("widget collection failed")

    async def aclose(self) -> None:
        """Close every connection (pages reconnect elsewhere) and release the backend."""
        for label in list(self.connections):
            await self.close_connections(label, p.CLOSE_RESTART)
        if self.shared is not None:
            await self.shared.stop()
        self.shutdown()

    def shutdown(self) -> None:
        """Stop housekeeping and the callback pool (server shutdown)."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        self.loop = None
        self._loop_thread = None
        self.dispatcher.shutdown()


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Equal keys; content and head compare by identity first (they are long strings)."""
    return all(x is y or x == y for x, y in zip(a, b, strict=True))


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _call_site() -> str:
    """`module-relative file:line` of the first caller outside pywry (stable across workers)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "unknown"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _worker_id(settings: PyWrySettings) -> str:
    from ..state import get_worker_id  # noqa: PLC0415 - avoids an import cycle

    configured = settings.deploy.worker_id
    if configured and settings.server.workers > 1:
        return f"{configured}-{os.getpid()}"  # one configured id, several processes
    return configured or get_worker_id()


_default: App | None = None
_default_lock = threading.Lock()


def default_app() -> App:
    """The default app: the one `pywry.inline` and adapters given no `app=` use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = App()
    return _default


def current_default() -> App | None:
    """The default app if it was created already."""
    return _default


def set_default_app(app: App | None) -> None:
    """Replace the default app (tests, `settings.PYWRY` read by the Django adapter)."""
    global _default
    with _default_lock:
        _default = app
