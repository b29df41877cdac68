"""Browser mode: `PyWry` serves widgets from a background thread of the user's script.

`app.show()` registers a widget, starts a uvicorn server in a daemon thread on first use and opens
the widget in the system browser; `app.block()` keeps the script alive until every tab is closed;
`app.destroy()` (also on Ctrl+C inside `block()`, and at interpreter exit) stops the server and
frees its port. Each `PyWry` has its own `App`, Starlette app, uvicorn server and port, so two
of them in one process never see each other's widgets.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import Unpack

from ._register import WidgetOptions, register_widget
from .config import Choice, ConfigError, PyWrySettings, ServerSettings
from .core import http
from .core.app import App
from .core.hosts import WILDCARD_HOSTS
from .core.listen import bind_near
from .core.origins import OriginCheck
from .core.tokens import tokens_equal
from .core.widgets import WidgetLimitError, check_label
from .dataframe import TableHandle, show_dataframe
from .extras import need
from .handle import WidgetHandle
from .inline import uvicorn_config
from .plotly import PlotlyHandle, show_plotly
from .state import headless

H = TypeVar("H", bound="WidgetHandle")

if TYPE_CHECKING:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp

__all__ = ["PyWry", "UnsupportedModeError", "WindowMode", "is_headless"]

log = logging.getLogger("pywry")

#: How often `block()` looks at the connection counts (seconds).
POLL_INTERVAL = 0.1
#: How long the first `show()` waits for the server to listen before giving up (seconds).
START_TIMEOUT = 15.0
#: How long `destroy()` waits for the server thread (then it forces the exit).
STOP_TIMEOUT = 5.0
#: Graceful-shutdown budget handed to uvicorn when the settings leave it unbounded (seconds).
GRACEFUL_SHUTDOWN = 2.0
INTERNAL_TOKEN_HEADER = "x-pywry-internal-token"
_counter = itertools.count(1)
# `webbrowser` fills its browser list lazily and not thread-safely: one open at a time.
_browser_lock = threading.Lock()


class WindowMode(Choice):
    """How widgets are shown. Only BROWSER exists in this pywry; the rest name native windows."""

    NEW_WINDOW = "new_window"
    SINGLE_WINDOW = "single_window"
    MULTI_WINDOW = "multi_window"
    NOTEBOOK = "notebook"
    BROWSER = "browser"


class UnsupportedModeError(ValueError):
    """Raised for a window mode that needs native OS windows (use WindowMode.BROWSER)."""


def _check_mode(mode: WindowMode | str) -> WindowMode:
    if not isinstance(mode, WindowMode):
        try:
            mode = WindowMode(str(mode).strip().lower())
        except ValueError:
            choices = ", ".join(m.name for m in WindowMode)
            raise UnsupportedModeError(
                f"mode {mode!r} is not a WindowMode ({choices}); use WindowMode.BROWSER"
            ) from None
    if mode is not WindowMode.BROWSER:
        raise UnsupportedModeError(
            f"WindowMode.{mode.name} needs native OS windows, which this pywry does not provide; "
            "use PyWry(mode=WindowMode.BROWSER) to show widgets in the system browser "
            "(or pywry.inline for a deployed server)"
        )
    return mode


def is_headless() -> bool:
    """True when no browser can be opened here: PYWRY_HEADLESS=1, deploy mode's server
    (`get_server_app()`), or Linux without a display."""
    if headless():
        return True
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def _url_host(host: str) -> str:
    """The host part of URLs for a server bound to `host` (wildcards become 127.0.0.1)."""
    if host.strip() in WILDCARD_HOSTS:
        return "127.0.0.1"
    bare = host.strip("[]")
    return f"[{bare}]" if ":" in bare else bare


def _reply(res: http.HttpResponse) -> Response:
    from starlette.responses import Response  # noqa: PLC0415

    return Response(res.body, res.status, res.headers, media_type=res.content_type)


async def register_widget_route(request: Request) -> Response:
    """`POST /register_widget` {label, html, title}: re-register a widget (kernel restart recovery).

    Needs the internal API token (`X-PyWry-Internal-Token`). An existing widget keeps its token,
    its callbacks and its open pages, which are sent the new HTML.
    """
    engine: App = request.app.state.pywry_engine
    expected = engine.settings.server.internal_api_token
    if not expected or not tokens_equal(expected, request.headers.get(INTERNAL_TOKEN_HEADER)):
        return _reply(
            http.error_response(401, "bad-token", "the internal API token is missing or wrong")
        )
    limit = engine.settings.server.max_payload_size
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return _reply(http.error_response(413, "too-big", f"body over {limit} bytes"))
    try:
        data = json.loads(bytes(body))
    except ValueError:
        return _reply(http.error_response(400, "bad-request", "the body is not JSON"))
    if not isinstance(data, dict):
        return _reply(http.error_response(400, "bad-request", "the body must be a JSON object"))
    label, html, title = data.get("label"), data.get("html"), data.get("title", "PyWry")
    try:
        check_label(label)
    except ValueError as exc:
        return _reply(http.error_response(400, "bad-request", str(exc)))
    if not isinstance(html, str) or not isinstance(title, str):
        return _reply(http.error_response(400, "bad-request", "html and title must be strings"))
    assert isinstance(label, str)
    old = engine.get(label)
    try:
        widget = engine.add_widget(
            html,
            label=label,
            title=title,
            callbacks=old.callbacks if old is not None else None,
            head=old.head if old is not None else "",
            theme=old.theme if old is not None else None,
            state={"body": html},
        )
    except WidgetLimitError as exc:
        return _reply(http.error_response(429, "too-many-widgets", str(exc)))
    if old is not None:
        engine.emit_to(widget, "pywry:update-html", {"html": html})
    url = f"{engine.public_url or ''}{engine.settings.server.widget_prefix}/{label}"
    log.info("widget %r re-registered over HTTP", label)
    return _reply(http.json_response(200, {"label": label, "url": url, "created": old is None}))


def _server_class() -> type[uvicorn.Server]:
    need("uvicorn", "browser mode", "fastapi")
    import uvicorn  # noqa: PLC0415

    class _Server(uvicorn.Server):
        """A uvicorn server that runs off the main thread and says when it listens."""

        def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
            super().__init__(config)
            self.ready = ready

        def install_signal_handlers(self) -> None:  # uvicorn < 0.29
            """Signals belong to the user's script (Ctrl+C reaches `block()`)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29
            """Signals belong to the user's script (Ctrl+C reaches `block()`)."""
            yield

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().startup(sockets=sockets)
            finally:
                self.ready.set()

    return _Server


class PyWry:
    """Browser mode: widgets served by a local server in a background thread, shown in tabs.

    ``PyWry(mode=WindowMode.BROWSER, host=..., port=..., open_browser=..., check_origin=...,
    allowed_hosts=[...], server={...}, settings=...)``: explicit arguments override
    ``PYWRY_SERVER__*`` variables, which override the config file (`pywry.config`). Port 0
    picks a free port, reported by ``handle.url``.
    """

    def __init__(
        self,
        mode: WindowMode | str = WindowMode.BROWSER,
        *,
        host: str | None = None,
        port: int | None = None,
        open_browser: bool | None = None,
        check_origin: OriginCheck | None = None,
        allowed_hosts: Iterable[str] = (),
        server: Mapping[str, Any] | None = None,
        settings: PyWrySettings | None = None,
    ) -> None:
        self.mode = _check_mode(mode)
        if check_origin is not None and not callable(check_origin):
            raise TypeError(
                f"check_origin must be a callable(origin) -> bool, not {check_origin!r}"
            )
        if isinstance(allowed_hosts, str):
            raise TypeError("allowed_hosts must be a list of host names, not a string")
        hosts = list(allowed_hosts)
        if server is not None and not isinstance(server, Mapping):
            raise TypeError(f"server must be a mapping of server settings, not {server!r}")
        self.settings = self._load_settings(settings, server, host, port, open_browser)
        self._engine = App(self.settings, check_origin=check_origin, allowed_hosts=hosts or None)
        self._lock = threading.RLock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._stopped = threading.Event()  # destroy() was called
        self._gone = threading.Event()  # the server thread ended
        self._destroyed = False
        self._shown = False
        self._pending: list[str] = []  # labels to open once start() runs (auto_start off)
        self.port: int | None = None

    # -- settings ------------------------------------------------------------------------------
    @staticmethod
    def _load_settings(
        settings: PyWrySettings | None,
        server: Mapping[str, Any] | None,
        host: str | None,
        port: int | None,
        open_browser: bool | None,
    ) -> PyWrySettings:
        overrides: dict[str, Any] = dict(server or {})
        for key, value in (("host", host), ("port", port), ("open_browser", open_browser)):
            if value is not None:
                overrides[key] = value
        if settings is None:
            settings = PyWrySettings(server=overrides)
        elif not isinstance(settings, PyWrySettings):
            raise TypeError(f"settings must be a PyWrySettings, not {settings!r}")
        elif overrides:
            base = settings.server
            given = {name: getattr(base, name) for name in base.model_fields_set}
            for key in overrides:
                if key not in ServerSettings.model_fields:
                    raise ConfigError(f"server.{key}: unknown setting", (f"server.{key}",))
            try:
                merged = ServerSettings.model_validate({**given, **overrides})
            except ValueError as exc:
                raise ConfigError(f"server: {exc}") from None
            settings = settings.model_copy(update={"server": merged})
        if not settings.server.internal_api_token:
            token = secrets.token_urlsafe(32)
            server_copy = settings.server.model_copy(update={"internal_api_token": token})
            settings = settings.model_copy(update={"server": server_copy})
        return settings

    # -- public properties ---------------------------------------------------------------------
    @property
    def app(self) -> App:
        """The `pywry.App` behind this browser-mode server (its widgets, peers and callbacks)."""
        return self._engine

    @property
    def engine(self) -> App:
        """The same as `app` (the name older code uses)."""
        return self._engine

    @property
    def internal_token(self) -> str:
        """The internal API token for `/health` details and `/register_widget` (keep it secret)."""
        token = self.settings.server.internal_api_token
        assert token is not None
        return token

    @property
    def url(self) -> str | None:
        """The server's base URL (`http(s)://host:port`), or None before the first `show()`."""
        return self._engine.public_url

    @property
    def running(self) -> bool:
        """True while the server thread is serving."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stopped.is_set()

    def __repr__(self) -> str:
        return f"<PyWry mode={self.mode.value} url={self.url!r}>"

    def __enter__(self) -> PyWry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # -- showing -------------------------------------------------------------------------------
    def show(
        self,
        content: str,
        *,
        open_browser: bool | None = None,
        **options: Unpack[WidgetOptions],
    ) -> WidgetHandle:
        """Register an HTML widget, start the server if needed and open it in the browser.

        `options` are those of `pywry.inline.show`: title, callbacks, toolbars, theme, head.
        """
        self._check_alive()
        already_open = self._has_pages(options.get("label"))
        # the script's own widget, unless a callback (or a request) makes it at run time
        options["per_visitor"] = self._engine.handling()
        handle = register_widget(content, engine=self._engine, **options)
        if already_open:  # showing a label again updates the tabs that already show it
            widget = handle.widget
            self._engine.emit_to(widget, "pywry:update-html", {"html": widget.content})
        return self._present(handle, open_browser, already_open)

    def show_plotly(
        self, fig: Any, *, open_browser: bool | None = None, **options: Any
    ) -> PlotlyHandle:
        """Show a Plotly figure in the browser (`options`: those of `pywry.inline.show_plotly`)."""
        return self._show_kind(show_plotly, fig, open_browser, options)

    def show_dataframe(
        self, df: Any, *, open_browser: bool | None = None, **options: Any
    ) -> TableHandle:
        """Show a table in the browser (`options`: those of `pywry.inline.show_dataframe`)."""
        return self._show_kind(show_dataframe, df, open_browser, options)

    def _show_kind(
        self,
        show: Callable[..., H],
        data: Any,
        open_browser: bool | None,
        options: dict[str, Any],
    ) -> H:
        self._check_alive()
        already_open = self._has_pages(options.get("label"))
        handle = show(data, engine=self._engine, per_visitor=self._engine.handling(), **options)
        return self._present(handle, open_browser, already_open)

    def _has_pages(self, label: object) -> bool:
        widget = self._engine.get(label) if isinstance(label, str) else None
        return widget is not None and widget.connections > 0

    def _present(self, handle: H, open_browser: bool | None, already_open: bool) -> H:
        self._shown = True
        wanted = self.settings.server.open_browser if open_browser is None else open_browser
        if self.settings.server.auto_start:
            self._start()
        elif self._server is None:  # PYWRY_SERVER__AUTO_START=false: start() opens it later
            if wanted and not already_open:
                self._pending.append(handle.label)
            return handle
        if wanted and not already_open:
            self._open_browser(handle.url)
        return handle

    def start(self) -> str:
        """Start the server now (needed only with auto_start off); returns its base URL."""
        self._start()
        pending, self._pending = self._pending, []
        for label in pending:
            if self._engine.get(label) is not None:
                self._open_browser(WidgetHandle(self._engine, label).url)
        assert self._engine.public_url is not None
        return self._engine.public_url

    def _open_browser(self, url: str) -> None:
        if is_headless():
            print(f"pywry: no display here; open {url} in a browser", file=sys.stderr)
            return

        def run() -> None:
            try:
                with _browser_lock:
                    opened = webbrowser.open_new_tab(url)
                if not opened:
                    log.warning("could not open a browser; open %s yourself", url)
            except Exception as exc:  # noqa: BLE001 - a missing browser must not kill the app
                log.warning("could not open a browser (%s); open %s yourself", exc, url)

        # Some browsers registered with `webbrowser` run in the foreground; never wait for them.
        threading.Thread(target=run, name="pywry-open-browser", daemon=True).start()

    def _check_alive(self) -> None:
        if self._destroyed:
            raise RuntimeError("this PyWry was destroyed; create a new PyWry to show widgets")

    # -- the server ----------------------------------------------------------------------------
    def _build_app(self) -> ASGIApp:
        from starlette.applications import Starlette  # noqa: PLC0415 - uvicorn extra
        from starlette.routing import Route  # noqa: PLC0415

        app = self._engine
        app.default_base = ""
        internal = Starlette(
            routes=[Route("/register_widget", register_widget_route, methods=["POST"])]
        )
        internal.state.pywry_engine = app
        return app.asgi.around(internal)

    def _uvicorn_settings(self) -> PyWrySettings:
        """Browser mode is quiet by default: uvicorn logs warnings only unless set otherwise."""
        server = self.settings.server
        quiet: dict[str, Any] = {}
        if "log_level" not in server.model_fields_set:
            quiet["log_level"] = "warning"
        if "access_log" not in server.model_fields_set:
            quiet["access_log"] = False
        if not quiet:
            return self.settings
        return self.settings.model_copy(update={"server": server.model_copy(update=quiet)})

    def _start(self) -> None:
        """Start the server thread once; returns when it listens (raises if it cannot)."""
        with self._lock:
            self._check_alive()
            if self._server is not None:
                if self._gone.is_set():
                    raise RuntimeError(f"the pywry server stopped: {self._error!r}")
                return
            s = self.settings.server
            config = uvicorn_config(self._build_app(), self._uvicorn_settings())
            if config.timeout_graceful_shutdown is None:
                config.timeout_graceful_shutdown = GRACEFUL_SHUTDOWN  # type: ignore[assignment]
            config.load()  # SSL and app errors surface here, in the caller's thread
            sock = bind_near(s.host, s.port, s.backlog)
            port = int(sock.getsockname()[1])
            if s.port and port != s.port:  # as Jupyter does: the next free port, said out loud
                log.warning(
                    "port %d on %s is in use: pywry serves on port %d instead "
                    "(PYWRY_SERVER__PORT chooses another)",
                    s.port,
                    s.host,
                    port,
                )
            ready = threading.Event()
            server = _server_class()(config, ready)  # type: ignore[call-arg]
            thread = threading.Thread(
                target=self._serve,
                args=(server, sock, ready),
                name=f"pywry-server-{next(_counter)}",
                daemon=True,
            )
            self._gone.clear()
            thread.start()
            if not ready.wait(START_TIMEOUT) or not server.started:
                server.should_exit = True
                thread.join(STOP_TIMEOUT)
                sock.close()
                raise RuntimeError(
                    f"the pywry server did not start on {s.host}:{port}: {self._error!r}"
                )
            scheme = "https" if s.ssl_certfile else "http"
            self.port = port
            self._engine.serve_on(s.host)
            self._engine.public_url = f"{scheme}://{_url_host(s.host)}:{port}"
            self._server, self._thread = server, thread
            atexit.register(self._at_exit)
            log.info("pywry serving at %s", self._engine.public_url)

    def _serve(self, server: uvicorn.Server, sock: socket.socket, ready: threading.Event) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - reported to show() / block(), never lost
            self._error = exc
            log.error("the pywry server stopped: %r", exc)
        finally:
            ready.set()
            with contextlib.suppress(OSError):
                sock.close()
            self._gone.set()

    # -- waiting and stopping ------------------------------------------------------------------
    def block(self, timeout: float | None = None) -> bool:
        """Wait until every page of every widget has closed and the reconnect window has passed.

        Waits for a first page to connect before anything counts as "closed". Returns True when
        all pages closed; False after `timeout` seconds, after `destroy()` (from any thread), if
        the server stopped, if nothing was shown, or after Ctrl+C (which also calls `destroy()`).
        """
        if self._server is None or not self._shown:
            log.warning("block() was called before show(): there is nothing to wait for")
            return False
        window = self.settings.server.reconnect_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = False  # a page has connected at some point
        idle_since: float | None = None  # when no page was connected any more
        try:
            self._announce()  # inside: Ctrl+C may come as soon as the line is out
            while True:
                now = time.monotonic()
                widgets = self._engine.registry.all()
                if not widgets:  # every widget was closed from Python: nothing left to show
                    return True
                if self._live_connections():
                    seen, idle_since = True, None
                else:
                    # ever_connected also catches a page that came and went between two polls.
                    seen = seen or any(w.ever_connected for w in widgets)
                    if seen:
                        idle_since = now if idle_since is None else idle_since
                        if now - idle_since >= window:
                            return True
                wait = POLL_INTERVAL
                if deadline is not None:
                    if now >= deadline:
                        return False
                    wait = min(wait, deadline - now)
                if self._stopped.wait(wait) or self._gone.is_set():
                    return False
        except KeyboardInterrupt:
            log.info("interrupted; stopping the pywry server")
            self.destroy()
            return False

    def _announce(self) -> None:
        """Say on stderr what `block()` waits for and how to stop it (silence looks hung)."""
        labels = [w.label for w in self._engine.registry.all()]
        if not labels:
            return
        base = f"{self._engine.public_url}{self.settings.server.widget_prefix}/"
        if len(labels) == 1:
            what, whose = f"1 widget at {base}{labels[0]}", "its"
        else:
            names = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
            what, whose = f"{len(labels)} widgets at {base}... ({names})", "their"
        print(
            f"pywry: serving {what}; waiting until {whose} pages are closed; press Ctrl+C to stop",
            file=sys.stderr,
            flush=True,
        )

    def _live_connections(self) -> int:
        """Open page connections over all widgets (the loop thread may be changing the table)."""
        for _ in range(10):
            try:
                return sum(len(conns) for conns in list(self._engine.peers.values()))
            except RuntimeError:  # "changed size during iteration": look again
                continue
        return 1  # still changing after ten looks: pages are certainly coming and going

    def destroy(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server and its threads (bounded by `timeout`) and free the port. Idempotent."""
        with self._lock:
            if self._destroyed:
                return
            self._destroyed = True
            server, thread = self._server, self._thread
        self._stopped.set()
        atexit.unregister(self._at_exit)
        if server is not None and thread is not None:
            server.should_exit = True
            if thread is not threading.current_thread():
                thread.join(timeout)
                if thread.is_alive():
                    log.warning("the pywry server did not stop in %.1fs; forcing it", timeout)
                    server.force_exit = True
                    thread.join(STOP_TIMEOUT)
        self._engine.shutdown()

    def _at_exit(self) -> None:
        self.destroy(timeout=2.0)
