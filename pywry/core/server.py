"""The shared half of every adapter's `start_server`: a socket, an announcement, the reloader.

An adapter builds its framework's app for the page factories (which configures the `App`),
then asks `listen` for the socket to serve on and runs its framework's server on it until
Ctrl+C. `listen` binds host:port (a busy port ends the program with one line, as `deploy()`
does), says where the applications are, and with reload on turns this process into the
supervisor of `pywry.core.reload` instead: it returns None once that is stopped. WSGI servers
built on `socketserver` (werkzeug's, Django's) run through `run_socketserver`.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from http.server import HTTPServer
from typing import TYPE_CHECKING, Any

from . import reload
from .apps import Applications
from .listen import ListenError, bind

if TYPE_CHECKING:
    from .app import App

STOP_TIMEOUT = 5.0  # seconds open connections get to close when the server stops


def listen(
    app: App, host: str, port: int, *, reload_on: bool | None, tls: bool = False
) -> socket.socket | None:
    """The listening socket for `app`'s server, or None after supervising reloads.

    `host` "" listens on every interface, `port` 0 on any free port. `reload_on` None follows
    `PYWRY_SERVER__RELOAD`.
    """
    app.deployed = True  # a server process: nothing here opens a browser
    inherited = reload.inherited_socket()
    if inherited is not None:  # a child of the reloader: its pages reload when they reconnect
        server = app.settings.server.model_copy(update={"reload": True})
        app.settings = app.settings.model_copy(update={"server": server})
        app.public_url = _url(inherited, tls)
        return inherited
    try:
        sock = bind(host, port, app.settings.server.backlog)
    except ListenError as exc:
        print(f"{exc}; choose another host or port (0 for any free one)", file=sys.stderr)
        raise SystemExit(1) from None
    app.public_url = _url(sock, tls)
    apps = app.apps
    names = ", ".join(apps.names) if isinstance(apps, Applications) else "the applications"
    say(f"serving {names} at {app.public_url}/; press Ctrl+C to stop")
    if not (app.settings.server.reload if reload_on is None else reload_on):
        return sock
    folder = reload.watched_folder()
    say(f"reloading when a .py file under {folder} changes")
    try:
        reload.supervise(sock, folder)
    finally:
        sock.close()
    return None


def say(text: str) -> None:
    """One line for the person at the terminal."""
    print(f"pywry: {text}", file=sys.stderr, flush=True)


def _url(sock: socket.socket, tls: bool) -> str:
    """Where a browser on this machine reaches `sock` (loopback for a wildcard address)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}"


def adopt(server: socketserver.TCPServer, sock: socket.socket) -> None:
    """Make a `socketserver` server made with `bind_and_activate=False` serve `sock`."""
    server.socket.close()
    sock.setblocking(True)
    server.socket = sock
    server.server_address = sock.getsockname()[:2]
    if isinstance(server, HTTPServer):  # what its server_bind would have set
        server.server_name = socket.getfqdn(str(server.server_address[0]))
        server.server_port = int(server.server_address[1])
    setup: Callable[[], Any] | None = getattr(server, "setup_environ", None)
    if setup is not None:  # wsgiref: the base environ server_bind would have built
        setup()


def run_socketserver(server: socketserver.BaseServer, app: App) -> None:
    """Serve until Ctrl+C or SIGTERM, then close pages' connections and stop (blocking)."""
    app.threaded_host = True

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = None
    with contextlib.suppress(ValueError):  # not the main thread: SIGTERM keeps its default
        previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if app.loop.loop is not None:  # end event streams so their threads finish
            with contextlib.suppress(Exception):
                app.loop.run(app.aclose(), STOP_TIMEOUT)
        app.shutdown()
