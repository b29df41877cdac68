"""`pywry.App`: one pywry instance, and the default one the module-level API uses.

Data flows one way: server driver (`asgi`, `wsgi`, an adapter) -> peer -> `App.handle_event` ->
dispatcher -> callback -> `App.emit` -> the widget's outbox -> every peer's cursor -> driver.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import PyWrySettings, get_settings
from ..state import get_worker_id
from ..state.backends import checked_at_start, create_backend
from ..state.base import BackendStartError, BackendUnavailable
from . import accesslog, context
from . import protocol as p
from .access import Access, watch_forever
from .apps import Applications, Pages
from .asgi import ASGIApp
from .assets import Assets
from .clients import ClientTable
from .context import Probe, RequestInfo
from .dispatch import Dispatcher
from .events import ALL, AUDIENCES, SESSION, Event, current_event
from .fanout import fan_out
from .hosts import HostPolicy
from .http import BACKEND_DOWN, TEXT, HttpResponse, Request, error_response
from .limits import Limits, Refusal, make_room
from .loop import AppLoop
from .metrics import metrics_for
from .options import check_options, server_updates
from .origins import OriginCheck, OriginPolicy
from .outbox import Outbox
from .page import render
from .peer import Peer
from .refusals import Refusals
from .routes import widget_of
from .sessions import (
    SESSION_ID,
    MemorySessions,
    Session,
    cookie_from_header,
    cookie_header,
    new_session_id,
)
from .shared import Shared
from .signin import SignIn
from .streams import CLIENT, Streams, stream_key
from .streams import SESSION as SESSION_SCOPE
from .tokens import new_label, tokens_equal
from .users import NOBODY, User, Who, check_roles
from .widgets import Callback, Registry, Widget, WidgetLimitError, check_callbacks, check_label
from .wsgi import WSGIApp

log = logging.getLogger("pywry")

READY_PING = 2.0  # seconds the state backend has to answer a readiness check


class UnknownWidgetError(LookupError):
    """Raised when Python addresses a widget that does not exist (or was collected)."""


class App:
    """One pywry instance: settings, widgets, peers, dispatch, delivery, limits and its loop.

    Every adapter serves an `App` (the default one unless given another); `asgi` and `wsgi` are
    its plain ASGI and WSGI applications. Two apps in one process never see each other's
    widgets, settings or limits.
    """

    def __init__(
        self,
        settings: PyWrySettings | None = None,
        check_origin: OriginCheck | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings or get_settings()
        server = self.settings.server
        accesslog.install()  # whichever server runs this app, its access log shows no token
        self.registry = Registry(server.max_widgets, math.ceil(self._unclaimed_ttl()))
        self.clients = ClientTable()
        self.streams = Streams(lambda: self.settings.server)
        self.limits = Limits(lambda: self.settings.server)
        self.sessions = MemorySessions(self.settings.deploy.session_ttl)
        self.metrics = metrics_for(server.metrics)
        self.refusals = Refusals()
        self.dispatcher = Dispatcher(server.callback_threads, self.metrics, debug=server.debug)
        self.origins = OriginPolicy(server.websocket_allowed_origins, check_origin)
        self.hosts = HostPolicy(server.allowed_hosts)
        # where pywry's own server listens (deploy, browser mode); None: a host framework's
        # server runs pywry, and each request tells the address it arrived on
        self.bind_host: str | None = None
        self._hosts_warned = False
        self.assets = Assets()
        self.peers: dict[str, set[Peer]] = {}
        self.static_dir: Path | None = None
        self.apps: Pages | None = None
        self.probes: list[Probe] = []
        self.extensions: dict[str, Any] = {}  # what adapters keep per app, by adapter name
        self.default_base = ""
        self.public_url: str | None = None
        self.loop = AppLoop(self._bound)
        self._reaper: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._sites: dict[str, int] = {}
        self._options: dict[str, Any] = {}
        self._asgi: ASGIApp | None = None
        self._wsgi: WSGIApp | None = None
        self.worker_id = _worker_id(self.settings)
        self._boot = secrets.token_urlsafe(9)
        self.shared: Shared | None = None
        self.threaded_host = False  # served by a WSGI host: the loop is pywry's own, made on need
        self.deployed = False  # the server of deploy mode (`get_server_app()`): no browser opens
        self.access = Access(self)
        self.signin = SignIn(self)
        self._watcher: asyncio.Task[None] | None = None
        self.draining = False  # SIGTERM: finishing what is in flight, taking nothing new
        self._busy = 0  # events being handled now (a draining worker waits for them)
        self._idle: asyncio.Event | None = None
        self._fanouts: set[asyncio.Task[None]] = set()  # sends of one message to many pages
        backend = create_backend(self.settings, self.worker_id)
        if backend is not None:
            self.shared = Shared(self, backend)
        if options:
            self.configure(**options)

    def __repr__(self) -> str:
        return f"<pywry.App widgets={len(self.registry)} worker={self.worker_id!r}>"

    # -- serving ---------------------------------------------------------------------------------
    @property
    def asgi(self) -> ASGIApp:
        """This app as a plain ASGI application (HTTP, WebSocket, lifespan)."""
        if self._asgi is None:
            self._asgi = ASGIApp(self)
        return self._asgi

    @property
    def wsgi(self) -> WSGIApp:
        """This app as a plain WSGI application (pages, HTTP stream, posts)."""
        if self._wsgi is None:
            self._wsgi = WSGIApp(self)
        return self._wsgi

    def configure(self, **options: Any) -> App:
        """Apply adapter options (`pywry.core.options`) to this app; returns the app.

        Setting an option again to another value is logged: it changes the whole app.
        """
        checked = check_options(options)
        if "apps" in checked and not isinstance(checked["apps"], Pages):
            checked["apps"] = Applications(checked["apps"])
        with self._lock:
            for key, value in checked.items():
                seen = self._options.get(key, value)
                if seen is not value and seen != value and not _same_apps(seen, value):
                    log.warning("%s=%r replaces %r on this app", key, value, seen)
                self._options[key] = value
        if "allowed_origins" in checked or "check_origin" in checked:
            allowed = checked.get("allowed_origins", self._options.get("allowed_origins", ()))
            self.origins = OriginPolicy(allowed, self._options.get("check_origin"))
        if "allowed_hosts" in checked:
            self.hosts = HostPolicy(checked["allowed_hosts"])
        if "static_dir" in checked:
            self.static_dir = checked["static_dir"]
        if "apps" in checked:
            self.apps = checked["apps"]
        updates = server_updates(checked)
        if updates:
            server = self.settings.server.model_copy(update=updates)
            self.settings = self.settings.model_copy(update={"server": server})
        return self

    @property
    def boot(self) -> str | None:
        """This process's boot id while code reload is on, else None.

        Pages get it in their bootstrap and compare it with `/health` when they reconnect: a
        server restarted with changed code has another one, and they reload themselves.
        """
        return self._boot if self.settings.server.reload else None

    @property
    def payload_limit(self) -> int:
        """The largest accepted browser message (bytes)."""
        return int(self.settings.server.max_payload_size)

    # -- the request being handled -----------------------------------------------------------------
    def request_info(self) -> RequestInfo | None:
        """What is known of the request being handled now, if any."""
        info = context.current.get()
        if info is not None and info.owner in (None, self):
            return info
        for probe in self.probes:
            found = probe()
            if found is not None:
                return found
        return None

    def add_probe(self, probe: Probe) -> None:
        """Let an adapter tell this app about its framework's requests (idempotent)."""
        if probe not in self.probes:
            self.probes.append(probe)

    def handling(self) -> bool:
        """True while this app handles a request or an event (a callback runs)."""
        ev = current_event()
        return (ev is not None and ev.app is self) or self.request_info() is not None

    def shows_per_visitor(self) -> bool:
        """Whether a widget shown now, with no explicit choice, belongs to one visitor: it is
        shown while a request or an event (a callback) is handled, not by an import."""
        site = context.call_site()
        if site == context.MODULE:
            return False
        if context.current.get() is not None or self.handling():
            return True
        return site == context.REQUEST

    def base_path(self, base: str | None = None) -> str:
        """The base path for URLs: explicit > the current request's > the adapter's default."""
        if base is not None:
            return base.rstrip("/")
        info = self.request_info()
        if info is not None and info.base is not None:
            return info.base
        return self.default_base

    def serves_websocket(self) -> bool:
        """False while a host without WebSockets (WSGI) handles the current request."""
        info = self.request_info()
        return info is None or info.websocket is not False

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
        roles: Sequence[str] | None = None,
        access: Callable[[Any], bool] | None = None,
    ) -> Widget:
        """Register (or idempotently re-register) a widget and return its record."""
        if access is not None and not callable(access):
            raise TypeError(f"access must be a callable taking the user, not {access!r}")
        if not isinstance(content, str):
            raise TypeError(f"content must be an HTML string, not {type(content).__name__}")
        if not isinstance(title, str):
            raise TypeError(f"title must be a string, not {title!r}")
        if theme is not None and theme not in ("dark", "light", "system"):
            raise ValueError(f"theme {theme!r} must be 'dark', 'light' or 'system'")
        if label is None:
            label = self._auto_label(per_visitor or self.shows_per_visitor())
        else:
            label = check_label(label)
        session, address, user = self._creator() if per_visitor else ("", "", "")
        if per_visitor and label not in self.registry:
            refusal = self.limits.visitor_widget(address)
            if refusal is not None:
                raise WidgetLimitError(refusal)
        widget = Widget(
            label=label,
            content=content,
            outbox=Outbox.configured(self.settings.server, label),
            title=title,
            callbacks=check_callbacks(callbacks),
            head=head,
            kind=kind,
            theme=theme,
            per_visitor=per_visitor,
            state=state or {},
            session=session,
            user=user if self.access.enabled else "",
            roles=check_roles(roles),
            access=access,
        )
        widget = self.registry.put(widget)
        if self.shared is not None:
            shared = self.shared
            widget.changed = lambda: shared.content_changed(widget)
            shared.register(widget)
        return widget

    def _creator(self) -> tuple[str, str, str]:
        """(session, client address, signed-in user id) of whom a per-visitor widget is made for
        now, when known: the event being handled, else the request being served."""
        ev = current_event()
        if ev is not None:
            return ev.session_id, ev.address, "" if ev.user is None else ev.user.id
        info = self.request_info()
        if info is None:
            return "", "", ""
        return info.session, info.address, "" if info.user is None else info.user.id

    def session_in(self, cookies: str | None) -> str | None:
        """The session id a `Cookie` header carries (None: none, or forged when signed)."""
        value = cookie_from_header(cookies, self.settings.deploy.auth_session_cookie)
        if value is None:
            return None
        sid = self.access.session_of(value)
        return sid if sid is not None and SESSION_ID.match(sid) else None

    def visitor(self, req: Request) -> tuple[str, dict[str, str]]:
        """The session of a request, and the headers that give a browser without one its own."""
        sid = self.session_in(req.header("cookie"))
        if sid is not None:
            return sid, {}
        sid = new_session_id()
        return sid, {"Set-Cookie": self.session_cookie(sid, req)}

    def session_cookie(self, sid: str, req: Request, *, ttl: int | None = None) -> str:
        """The `Set-Cookie` value that gives the browser of `req` session `sid`."""
        deploy = self.settings.deploy
        value = self.access.cookie_value(sid)
        lifetime = deploy.session_ttl if ttl is None else ttl
        return cookie_header(
            deploy.auth_session_cookie, value, req.base or "/", secure=req.secure, ttl=lifetime
        )

    @property
    def identify(self) -> Callable[[Any], User | None] | None:
        """The adapter option `identify=`: the host's request -> `User` (or None)."""
        found: Callable[[Any], User | None] | None = self._options.get("identify")
        return found

    async def session_text(self, key: str) -> str | None:
        """A stored session record (a session's values, its sign-in) by key."""
        if self.shared is None:
            return self.sessions.get(key)
        return await self.shared.backend.load_session(key)

    async def session_write(self, key: str, text: str, ttl: int) -> None:
        """Store a session record for `ttl` seconds."""
        if self.shared is None:
            await self.sessions.save(key, text, ttl)
        else:
            await self.shared.backend.save_session(key, text, ttl)

    def _auto_label(self, at_run_time: bool) -> str:
        """A label for a widget the author did not name.

        One shown at run time (while a request or an event is handled, or per-visitor) gets an
        unguessable one: a label computed from the code would open its page to anyone who reads
        the code. A module-level widget gets one derived from where it was shown (file, line,
        and how many times that line ran), so every worker that runs the same module registers
        the same widget, as an explicit label would.
        """
        if at_run_time:
            return new_label()
        site = call_site()
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
        self.streams.drop_widget(label)
        peers = self.peers.pop(label, set())
        if peers:
            self.loop.call(self.shut_peers, list(peers), p.CLOSE_UNKNOWN_WIDGET)
        return True

    def shut_peers(self, peers: list[Peer], code: int) -> None:
        """Close peers with `code` once their queued messages are out (on the loop)."""
        for peer in peers:
            peer.shut(code)

    async def close_connections(self, label: str, code: int = p.CLOSE_RESTART) -> int:
        """Close every peer of a widget (pages reconnect by themselves); returns how many.

        Returns once they are gone, so a following emit is certainly replayed on reconnect.
        """
        peers = list(self.peers.get(label, ()))
        self.shut_peers(peers, code)
        for peer in peers:
            await peer.wait_ended()
        return len(peers)

    # -- emitting ------------------------------------------------------------------------------
    def emit(self, label: str, kind: str, data: Any = None, *, to: str | None = None) -> int | None:
        """Send a sequenced message to the pages `to` addresses; safe from any thread.

        Inside a callback for this widget the default is the page that sent the event; outside
        callbacks, every page (see `audience`).
        """
        p.check_event_name(kind)
        return self.emit_to(self.require(label), kind, data, to=to)

    def audience(self, widget: Widget, to: str | None = None) -> str | None:
        """The stream an emit on `widget` goes to: None for the widget's own, else a stream key.

        `to` is None (the sender's page inside a callback for this widget, else every page),
        `"all"`, `"session"` (every page of the sender's session) or `"sender"`.
        """
        if to is not None and to not in AUDIENCES:
            raise ValueError(f"to={to!r} must be one of {', '.join(AUDIENCES)} or None")
        if to == ALL:
            return None
        ev = current_event()
        if ev is None or ev.app is not self or ev.label != widget.label:
            if to is None:
                return None
            raise RuntimeError(f"to={to!r} addresses the sender of an event: call it in a callback")
        if to == SESSION:
            return stream_key(widget.label, SESSION_SCOPE, ev.session_id)
        return stream_key(widget.label, CLIENT, ev.client)

    def emit_to(self, widget: Widget, kind: str, data: Any, *, to: str | None = None) -> int | None:
        """`emit` for a widget record already in hand.

        Returns the message's seq, or None with a shared backend (it assigns seq on publishing).
        """
        return self.send(widget, kind, data, self.audience(widget, to))

    def send(self, widget: Widget, kind: str, data: Any, key: str | None) -> int | None:
        """Put a message on the widget's stream (`key` None) or on the stream `key`."""
        payload = {} if data is None else data
        self.metrics.emitted()
        try:
            if self.shared is not None:
                self.shared.emit(key or widget.label, kind, payload)
                return None
            outbox = widget.outbox if key is None else self.streams.get(key)
            kept = outbox.bytes
            seq, _ = outbox.append(kind, payload)
        except TypeError as exc:
            raise TypeError(f"data of event {kind!r} is not JSON-serialisable: {exc}") from None
        if key is not None:  # every page's replies together are bounded as well
            budget = self.settings.server.replies_max_bytes
            if self.streams.grew(outbox.bytes - kept, budget):
                self.streams.trim(budget, self.followed() | {key})
        self.notify(widget.label, key)
        return seq

    def notify(self, label: str, key: str | None = None) -> None:
        """Wake the peers that follow stream `key` of `label` (None: all of them); any thread."""
        if label in self.peers and not self.dispatcher.hold(self._wake, label, key):
            self.loop.call(self._wake, label, key)

    def _wake(self, label: str, key: str | None = None) -> None:
        peers = self.peers.get(label)
        if not peers:
            return
        if key is None:  # every page of the widget
            fan_out(peers, self._fanouts)
            return
        for peer in peers:
            if key in peer.keys:
                peer.wake.set()

    # -- sessions --------------------------------------------------------------------------------
    def sessions_load(self, sid: str) -> Session:
        """Session `sid` for a callback on a pool thread (it waits for a shared store)."""
        if self.shared is None:
            text = self.sessions.get(sid)
        elif self.loop.on_loop():
            raise RuntimeError("an async callback's session is loaded before it runs")
        else:
            text = self.loop.run(self.shared.backend.load_session(sid), 15)
        return Session(sid, p.decode_object(text))

    async def sessions_aload(self, sid: str) -> Session:
        """Session `sid`, loaded on the loop."""
        if self.shared is None:
            return Session(sid, p.decode_object(self.sessions.get(sid)))
        return Session(sid, p.decode_object(await self.shared.backend.load_session(sid)))

    async def sessions_save(self, session: Session) -> None:
        """Store what a callback changed in a session."""
        ttl = self.settings.deploy.session_ttl
        if self.shared is None:
            await self.sessions.save(session.id, session.dump())
        else:
            await self.shared.backend.save_session(session.id, session.dump(), ttl)
        session.changed = False

    # -- loop ----------------------------------------------------------------------------------
    def bind_loop(self) -> None:
        """Adopt the running loop (every driver calls this per request; it is cheap)."""
        self.loop.bind()

    def _bound(self, loop: asyncio.AbstractEventLoop) -> None:
        self._reaper = loop.create_task(self._reap_loop())
        if self.access.enabled:
            self._watcher = loop.create_task(watch_forever(self.access))
        if self.shared is not None:
            self._shared_start = loop.create_task(self.shared.start())

    async def startup(self) -> None:
        """Server start-up (the ASGI lifespan): bind the loop and open the shared backend.

        Raises `BackendStartError`, naming the setting, when the backend cannot be opened: the
        server should stop with that line instead of waiting for a store that is not there.
        A worker of a deployment that already opened it (one started in place of a worker that
        died, maybe during an outage) starts anyway: it answers 503 and keeps retrying.
        """
        self.bind_loop()
        if self.shared is not None:
            try:
                await self.shared.opened()
            except BackendStartError as exc:
                if not checked_at_start():
                    raise
                log.error("%s; this worker serves once it can be opened", exc)
                return
        await self.prepare()

    async def prepare(self, label: str | None = None) -> None:
        """Make `label` servable here: wait for a shared backend, load another worker's widget.

        Returns at once with the memory backend. Raises BackendUnavailable during an outage.
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

    async def prepare_or_refuse(self, label: str) -> HttpResponse | None:
        """`prepare`, with the 503 answer to give while the shared store is down (the log has
        the backend's own error, which names its address)."""
        try:
            await self.prepare(label)
        except BackendUnavailable:
            return error_response(503, "backend-unavailable", BACKEND_DOWN)
        return None

    async def stream_head(self, outbox: Outbox) -> int:
        """The last position of a stream as the shared store has it (this worker's without)."""
        if self.shared is None:
            return outbox.seq
        try:
            return await self.shared.backend.stream_head(outbox.key)
        except BackendUnavailable as exc:
            self.shared.outage(exc)
            return outbox.seq

    async def fetch_since(self, outbox: Outbox, after: int) -> list[str] | None:
        """Messages after `after` that a local stream no longer has, from the shared store."""
        if self.shared is None:
            return None
        try:
            texts = await self.shared.backend.since(outbox.key, after)
        except BackendUnavailable as exc:
            self.shared.outage(exc)
            return []
        if texts is None:
            return None
        for i, text in enumerate(texts):
            outbox.append_encoded(after + 1 + i, text)
        if not texts:
            outbox.advance(after)
        return texts

    # -- pages ---------------------------------------------------------------------------------
    def page_html(
        self, label: str, base: str | None = None, *, websocket: bool | None = None
    ) -> str | None:
        """The widget's page as served under `base`, or None for an unknown label."""
        widget = self.registry.get(label)
        if widget is None:
            return None
        widget.touch()
        base = self.base_path(base)
        if websocket is None:
            websocket = self.serves_websocket()
        with widget.lock:
            seq = widget.outbox.seq
            # the same page is asked for again and again (every visitor of a dashboard):
            # reuse it until anything it shows changes
            key = (
                base, websocket, seq, widget.token, widget.content, widget.head, widget.title,
                widget.theme, self.boot,
            )  # fmt: skip
            cached = widget.page_cache
            if cached is not None and _same(cached[0], key):
                return cached[1]
            html = render(
                widget,
                base,
                seq,
                self.assets,
                websocket=websocket,
                settings=self.settings,
                boot=self.boot,
            )
            widget.page_cache = (key, html)
            return html

    async def page_html_async(
        self, label: str, base: str | None = None, *, websocket: bool | None = None
    ) -> str | None:
        """`page_html` that can also serve widgets registered on another worker."""
        base = self.base_path(base)  # read the request context here, not on another loop
        if websocket is None:
            websocket = self.serves_websocket()
        await self.loop.run_async(self.prepare(label))
        return self.page_html(label, base, websocket=websocket)

    def resync_message(self, widget: Widget) -> str:
        """Sent when a reconnecting page asks for history that is gone."""
        return p.unsequenced("pywry:resync", {"seq": widget.outbox.seq, "label": widget.label})

    # -- admission and peers -------------------------------------------------------------------
    def serve_on(self, bind: str, *, warn: bool = True) -> None:
        """Note where pywry's own server listens, which decides the `Host` defaults
        (`pywry.core.hosts`); with `warn`, say once when it answers to every host."""
        self.bind_host = bind
        if warn:
            self._warn_open_hosts(bind)

    def _warn_open_hosts(self, bind: str) -> None:
        if not self._hosts_warned and self.hosts.open_on(bind):
            self._hosts_warned = True
            log.warning(self.hosts.warning(bind))

    def host_refusal(self, req: Request) -> HttpResponse | None:
        """400 for a request or handshake whose `Host` is not one of this server's names
        (DNS rebinding), checked before anything else; None when it may go on."""
        bind = req.server if self.bind_host is None else self.bind_host
        host = req.header("host")
        if self.hosts.allows(host, bind):
            if self.bind_host is None:
                self._warn_open_hosts(bind)  # embedded: the first request shows the address
            return None
        label = widget_of(self, req.path)
        self.refusals.note("bad-host", label, req.address, f"Host {(host or '')[:100]!r}")
        return HttpResponse(400, self.hosts.refusal(host).encode(), TEXT)

    def admit(
        self, label: str, token: str | None, origin: str | None, host: str | None
    ) -> tuple[Widget | None, int | None]:
        """Check a socket, stream or post; returns (widget, None) or (None, close code).

        An unknown widget is reported before the origin and the token are looked at.
        """
        widget = self.registry.get(label)
        if widget is None:
            return None, p.CLOSE_UNKNOWN_WIDGET
        if not self.origins.allows(origin, host):
            return None, p.CLOSE_BAD_ORIGIN
        if not tokens_equal(widget.token, token):
            return None, p.CLOSE_BAD_TOKEN
        return widget, None

    def attach(
        self,
        widget: Widget,
        client: str,
        after: int,
        session: str = "",
        cafter: int = 0,
        safter: int | None = None,
        who: Who = NOBODY,
        address: str = "",
        transport: str = "websocket",
    ) -> Peer | Refusal:
        """Register a new peer of `widget` (on the loop), or say why there is no room.

        The peer follows the widget's stream from `after`, its page's own from `cafter` and its
        session's from `safter` (None: from now on). Each client and each address has a share
        of the widget's connections; the client's own older connections and other duplicates
        are closed to make room before anyone is refused (`pywry.core.limits.make_room`).
        `transport` is `websocket` or `sse`.
        """
        self.bind_loop()
        peers = self.peers.get(widget.label, ())
        stale, refusal = make_room(peers, client, address, self.settings.server)
        if refusal is not None:
            self.refusals.note("too-many-connections", widget.label, address, refusal.detail)
            return refusal
        for old in stale:
            log.info("closing an older connection of %s to %r", old.client, widget.label)
            old.shut(p.CLOSE_POLICY)
        peer = Peer(self, widget, client, after, session, who, address, transport)
        peer.follow(self.streams.get(stream_key(widget.label, CLIENT, client)), cafter)
        if session:
            peer.follow(self.streams.get(stream_key(widget.label, SESSION_SCOPE, session)), safter)
        if self.shared is not None:
            self.shared.attached(peer)
        self.peers.setdefault(widget.label, set()).add(peer)
        widget.connections += 1
        self.metrics.connected(transport)
        widget.ever_connected = True
        widget.touch()
        self.clients.connected(widget.label, client)
        return peer

    def session_allowed(self, widget: Widget, session: str) -> bool:
        """A per-visitor widget belongs to one session: the one that made it, or first used it."""
        if not widget.per_visitor:
            return True
        if not widget.session:
            widget.session = session  # first come: shown in a host route, first opened now
            if self.shared is not None:
                self.shared.enqueue(("update", widget.label, {"session": session}))
            return True
        return tokens_equal(widget.session, session)

    def detach(self, peer: Peer, linger: float = 0.0) -> None:
        """Forget a closed peer; its client's place is kept `linger` seconds past the window."""
        peer.ended()
        peers = self.peers.get(peer.label)
        if peers is None or peer not in peers:
            return
        peers.discard(peer)
        if not peers:
            self.peers.pop(peer.label, None)
        if self.shared is not None:
            self.shared.detached(peer)
        widget = peer.widget
        widget.connections = max(0, widget.connections - 1)
        self.metrics.disconnected(peer.transport)
        widget.last_disconnect = time.monotonic() + linger
        widget.touch()
        self.clients.disconnected(peer.label, peer.client, linger=linger)

    async def handle_event(self, peer: Peer, msg: p.Incoming) -> bool:
        """Acknowledge, de-duplicate and dispatch one browser event (a drain waits for it).

        False: the shared store failed before the event was recorded, so it was not taken (no
        ack; the page sends it again once it reconnects, and an HTTP post is told 503).
        """
        widget = peer.widget
        shared = self.shared
        fn = self.dispatcher.find(widget, msg.type)
        self.begin_work()
        try:
            if shared is not None and widget.remote and fn is None:
                try:  # another worker holds the callbacks: de-duplicate and route in one step
                    await shared.route_event(peer, msg)
                except BackendUnavailable as exc:
                    shared.outage(exc)
                    return False
                return True
            if msg.id is not None:
                if shared is None:
                    fresh = self.clients.accept(widget.label, peer.client, msg.id)
                else:
                    later = functools.partial(
                        self.dispatch,
                        widget, msg, _nowhere, peer.client, peer.session, peer.user, peer.address,
                    )  # fmt: skip
                    try:
                        fresh = await shared.accept(widget.label, peer.client, msg.id, later)
                    except BackendUnavailable as exc:
                        shared.outage(exc)
                        return False
                peer.push(p.ack(msg.id))
                if not fresh:
                    return True
            self.metrics.event()
            await self._run_callback(
                widget, msg, peer.push, peer.client, peer.session, peer.user, peer.address, fn
            )
            return True
        finally:
            self.end_work()

    def begin_work(self) -> None:
        """Count an event in flight (a drain waits until none is); `end_work` when it is done."""
        self._busy += 1

    def end_work(self) -> None:
        """An event counted with `begin_work` is done; the last one lets a waiting drain go on."""
        self._busy -= 1
        if not self._busy and self._idle is not None:
            self._idle.set()

    async def dispatch(
        self,
        widget: Widget,
        msg: p.Incoming,
        reply: Callable[[str], None],
        client: str,
        session: str,
        user: User | None = None,
        address: str = "",
    ) -> None:
        """Run the callback for `msg` as the current event; store what it did to the session."""
        self.begin_work()
        try:
            self.metrics.event()
            await self._run_callback(widget, msg, reply, client, session, user, address)
        finally:
            self.end_work()

    async def _run_callback(
        self,
        widget: Widget,
        msg: p.Incoming,
        reply: Callable[[str], None],
        client: str,
        session: str,
        user: User | None,
        address: str,
        fn: Callback | None = None,
    ) -> None:
        fn = fn or self.dispatcher.find(widget, msg.type)
        if fn is None:
            self.dispatcher.ignored(widget, msg.type)
            return
        ev = Event(self, widget, msg.type, msg.data, client, session, msg.id, user, address)
        if self.shared is not None and self.dispatcher.is_async(fn):
            ev.loaded(await self.sessions_aload(session))  # it cannot wait for it on the loop
        await self.dispatcher.call(fn, widget, msg, reply, ev)
        touched = ev.session_if_loaded
        if touched is not None and touched.changed:
            try:
                await self.sessions_save(touched)
            except BackendUnavailable as exc:
                log.error("a session change from %r was lost: %s", msg.type, exc)

    # -- housekeeping --------------------------------------------------------------------------
    def health(self, internal_token: str | None) -> dict[str, Any]:
        """Liveness; details only for the holder of the internal API token."""
        expected = self.settings.server.internal_api_token
        said: dict[str, Any] = {"status": "ok"}
        if self.boot is not None:
            said["boot"] = self.boot  # reload on: pages compare it when they reconnect
        if not expected or not tokens_equal(expected, internal_token):
            return said
        return {
            **said,
            "worker": self.worker_id,
            "backend": str(getattr(self.settings.deploy.state_backend, "value", "memory")),
            "backend_available": not (self.shared is not None and self.shared.down),
            "widgets": len(self.registry),
            "connections": sum(len(c) for c in self.peers.values()),
            "clients": len(self.clients),
            "streams": len(self.streams),
        }

    async def readiness(self) -> str | None:
        """None while this worker should get traffic, else why not (`draining`, or
        `backend-unavailable` while the shared state backend does not answer)."""
        if self.draining:
            return "draining"
        shared = self.shared
        if shared is None:
            return None
        if shared.down or shared.started is None or not shared.started.is_set():
            return "backend-unavailable"
        try:
            await asyncio.wait_for(shared.backend.ping(), READY_PING)
        except (OSError, asyncio.TimeoutError):  # BackendUnavailable is an OSError
            return "backend-unavailable"
        return None

    async def drain(self) -> None:
        """Stop taking work before the server stops (SIGTERM, `pywry.core.drain`).

        New requests get 503 from now on; open sockets close with 1012 once what is queued for
        them is out (their pages reconnect to another worker) and event streams end. Returns
        once the events in flight have been handled, or after `TIMEOUT_GRACEFUL_SHUTDOWN`.
        """
        if self.draining:
            return
        self.draining = True
        peers = [peer for group in self.peers.values() for peer in group]
        log.warning(
            "draining: %d connections told to reconnect elsewhere%s",
            len(peers),
            "; waiting for the events in flight" if self._busy else "",
        )
        self.shut_peers(peers, p.CLOSE_RESTART)
        if not self._busy:
            return
        self._idle = asyncio.Event()
        grace = self.settings.server.timeout_graceful_shutdown
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except asyncio.TimeoutError:
            log.error("draining: events still in flight after %ss; stopping anyway", grace)

    def reap(self) -> int:
        """Collect per-visitor widgets nobody uses and expired clients; returns widgets removed."""
        now = time.monotonic()
        server, deploy = self.settings.server, self.settings.deploy
        removed = 0
        own = 0
        for widget in self.registry.all():
            own += not widget.remote
            if widget.connections or self.shared is not None:
                continue  # with a shared backend, Shared._collect asks every worker first
            if widget.per_visitor:
                if widget.ever_connected:
                    dead = now - widget.last_disconnect > server.reconnect_timeout
                else:
                    dead = now - widget.created > self.unclaimed_ttl
            else:
                dead = now - widget.last_used > deploy.widget_ttl
            if dead and self.remove_widget(widget.label):
                removed += 1
                own -= 1
        self.metrics.widgets(own)
        self.metrics.flush()
        self.clients.expire(server.reconnect_timeout)
        followed = self.followed()
        self.streams.expire(server.reconnect_timeout + server.outbox_max_age, followed)
        self.streams.trim(server.replies_max_bytes, followed)
        self.sessions.expire()
        return removed

    @property
    def unclaimed_ttl(self) -> float:
        """How long a per-visitor widget no page ever connected to is kept (seconds)."""
        return self._unclaimed_ttl()

    def _unclaimed_ttl(self) -> float:
        server, deploy = self.settings.server, self.settings.deploy
        return min(float(deploy.connection_ttl), server.unclaimed_widget_ttl)

    def followed(self) -> set[str]:
        """The page and session streams a connected peer follows (from any thread: copies)."""
        return {
            key for peers in list(self.peers.values()) for peer in list(peers) for key in peer.keys
        }

    async def _reap_loop(self) -> None:
        server = self.settings.server
        interval = max(0.1, min(1.0, server.reconnect_timeout / 4, self.unclaimed_ttl / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                self.reap()
            except Exception:  # noqa: BLE001 - housekeeping must never die
                log.exception("widget collection failed")

    async def aclose(self) -> None:
        """Close every peer (pages reconnect elsewhere) and release the backend."""
        for label in list(self.peers):
            await self.close_connections(label, p.CLOSE_RESTART)
        if self.shared is not None:
            await self.shared.stop()
        self.metrics.close()
        self.shutdown()

    def shutdown(self) -> None:
        """Stop housekeeping and the callback pool (server shutdown)."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        self.loop.unbind()
        self.dispatcher.shutdown()


def _same_apps(seen: Any, value: Any) -> bool:
    """Applications of the same shape (the script run twice in one process), not a change."""
    return (
        isinstance(seen, Applications) and isinstance(value, Applications) and (seen.same_as(value))
    )


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Equal keys; content and head compare by identity first (they are long strings)."""
    return all(x is y or x == y for x, y in zip(a, b, strict=True))


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def call_site() -> str:
    """`module-relative file:line` of the first caller outside pywry (stable across workers)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "unknown"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _worker_id(settings: PyWrySettings) -> str:
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


def serves_deployed() -> bool:
    """True once the default app is deploy mode's server (`get_server_app()`): what
    `PYWRY_HEADLESS=1` says, for this process only (the environment is left alone)."""
    app = _default
    return app is not None and app.deployed


def set_default_app(app: App | None) -> None:
    """Replace the default app (tests, `settings.PYWRY` read by the Django adapter)."""
    global _default
    with _default_lock:
        _default = app


def _nowhere(text: str) -> None:
    """Where a late event's replies go: its page closed long ago (emits to others still go)."""
