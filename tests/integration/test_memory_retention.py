"""Sockets that close leave nothing behind: no Peer object lives on once they are gone, and once
the windows pass (the client kept for de-duplication within the reconnect window, the page's and
session's streams for replay within the reconnect window plus OUTBOX_MAX_AGE) the worker's
`/health` counts of connections, clients and streams are back at 0.

A real server (browser mode's uvicorn in a background thread, so the test can hold weak
references to the app's peers) on loopback; each socket sends an event that its callback
answers on the page's own stream, as a page does. With a shared backend the peers are kept open
until the heartbeat has reported them, the long-lived task that once kept the last one alive.
"""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pywry import PyWry, current_event
from pywry.config import PyWrySettings
from pywry.core.peer import Peer
from tests.integration.wsclient import Client, page_bootstrap

pytestmark = pytest.mark.integration

SOCKETS = 100
WINDOW = 1.0  # the reconnect window, and OUTBOX_MAX_AGE: streams go after both


def _until(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll `check` (bounded) until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {timeout:.0f} s")
        time.sleep(0.05)


@pytest.fixture(params=["memory", "sqlite"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[PyWry, str]]:
    """A server on a free loopback port with one widget whose callback answers its page."""
    settings = PyWrySettings(
        server={
            "host": "127.0.0.1",
            "port": 0,
            "open_browser": False,
            "reconnect_timeout": WINDOW,
            "session_expire_seconds": WINDOW,
            "outbox_max_age": WINDOW,
            "access_log": False,
        },
        deploy={"state_backend": request.param, "sqlite_path": str(tmp_path / "state.db")},
    )
    server = PyWry(settings=settings)

    def on_ping(data: Any, event_type: str, label: str) -> None:
        event = current_event()
        assert event is not None
        event.reply("app:pong", data)

    handle = server.show("<p>memory</p>", label="mem", callbacks={"app:ping": on_ping})
    try:
        yield server, handle.url
    finally:
        server.destroy()


def test_closed_sockets_leave_no_peer_client_or_stream(served: tuple[PyWry, str]) -> None:
    server, url = served
    app = server.app
    base = url.split("/widget/")[0]

    def health() -> dict[str, Any]:
        headers = {"X-PyWry-Internal-Token": server.internal_token}
        return httpx.get(base + "/health", headers=headers, timeout=10).json()

    def counts() -> dict[str, int]:
        found = health()
        return {k: found[k] for k in ("connections", "clients", "streams")}

    boot = page_bootstrap(url)
    boot.pop("cookie", None)  # no cookie: each socket is a new visitor, with a session stream
    clients = [Client(base, boot, client=f"m{i:011d}") for i in range(SOCKETS)]
    try:
        for i, client in enumerate(clients):
            client.send("app:ping", {"i": i})
        for i, client in enumerate(clients):
            assert client.recv_until("app:pong")[0]["data"] == {"i": i}

        async def open_peers() -> list[Peer]:
            return [peer for peers in app.peers.values() for peer in peers]

        refs = [weakref.ref(peer) for peer in app.loop.run(open_peers(), 10)]
        assert len(refs) == SOCKETS
        assert counts() == {"connections": SOCKETS, "clients": SOCKETS, "streams": 2 * SOCKETS}
        if app.shared is not None:  # the heartbeat has seen them: it iterated over the peers
            backend = app.shared.backend
            _until(
                "reported by the heartbeat",
                lambda: app.loop.run(backend.presence("mem"), 10)[0] == SOCKETS,
            )
    finally:
        for client in clients:
            client.close()

    _until("closed on the server", lambda: health()["connections"] == 0)

    def peers_gone() -> bool:
        gc.collect()
        return all(ref() is None for ref in refs)

    _until("rid of every Peer", peers_gone, timeout=3 * 2.0)  # 3 heartbeats
    zero = {"connections": 0, "clients": 0, "streams": 0}
    _until("rid of the clients and streams", lambda: counts() == zero)
