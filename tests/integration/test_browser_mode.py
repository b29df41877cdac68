"""Browser mode (`pywry.PyWry`) against its real uvicorn server: routes, refusals, lifecycle.

Every server here is a real `PyWry` on a free loopback port; WebSocket peers are the `websockets`
client library; example scripts run as real subprocesses.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from pywry import PyWry, WindowMode
from pywry.app import UnsupportedModeError, is_headless
from pywry.core.hosts import HostPolicy, split_host
from pywry.handle import WidgetHandle
from pywry.toolbar import Button, Toolbar
from tests.support import (
    EXAMPLES,
    ROOT,
    clean_env,
    ctrl_c,
    free_port,
    listening_addresses,
    read_lines,
    spawn,
)

pytestmark = pytest.mark.integration

TOKEN_HEADER = "X-PyWry-Internal-Token"


# -- helpers -------------------------------------------------------------------------------------
@pytest.fixture
def make_app() -> Iterator[Callable[..., PyWry]]:
    """Build PyWry apps on free ports with no browser; every one is destroyed afterwards."""
    apps: list[PyWry] = []

    def make(**kwargs: Any) -> PyWry:
        kwargs.setdefault("port", 0)
        kwargs.setdefault("open_browser", False)
        app = PyWry(**kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.destroy()


def ws_url(handle: WidgetHandle, label: str | None = None) -> str:
    """The WebSocket URL of a widget, from its page URL."""
    base, _, _ = handle.url.partition("/widget/")
    return base.replace("http", "ws", 1) + f"/ws/{label or handle.label}"


def open_ws(
    handle: WidgetHandle,
    *,
    token: str | None = None,
    origin: str | None = None,
    label: str | None = None,
    sock: socket.socket | None = None,
    uri: str | None = None,
) -> ClientConnection:
    """A protocol-v1 socket to a widget (the token as subprotocol when given)."""
    protocols = [f"pywry.token.{token}"] if token else None
    return connect(
        uri or ws_url(handle, label),
        subprotocols=protocols,  # type: ignore[arg-type]
        origin=origin,  # type: ignore[arg-type]
        sock=sock,
        open_timeout=5,
    )


def close_code(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    """Read until the server closes the socket; its close code."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    except TimeoutError:
        pass
    raise AssertionError(f"the server did not close the socket within {timeout}s")


def messages(ws: ClientConnection, until: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Messages received (batches flattened) up to and including the first of type `until`."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        for msg in frame["events"] if "events" in frame else [frame]:
            got.append(msg)
            if msg.get("type") == until:
                return got
    raise AssertionError(f"no {until!r} within {timeout}s; got {got}")


def send_event(ws: ClientConnection, kind: str, ident: int, data: Any = None) -> None:
    """Send one browser event."""
    ws.send(json.dumps({"type": kind, "data": data or {}, "id": ident, "ts": 0}))


def health(app: PyWry) -> dict[str, Any]:
    """The detailed /health answer."""
    res = httpx.get(f"{app.url}/health", headers={TOKEN_HEADER: app.internal_token}, timeout=5)
    assert res.status_code == 200
    return res.json()


def server_threads(name: str) -> list[threading.Thread]:
    """Live threads called `name`."""
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


# -- construction --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mode",
    [WindowMode.NEW_WINDOW, WindowMode.SINGLE_WINDOW, WindowMode.MULTI_WINDOW, WindowMode.NOTEBOOK],
)
def test_native_window_modes_point_to_browser(mode: WindowMode) -> None:
    with pytest.raises(UnsupportedModeError, match=r"WindowMode\.BROWSER") as info:
        PyWry(mode=mode)
    assert mode.name in str(info.value)


def test_mode_checks_and_defaults() -> None:
    with pytest.raises(UnsupportedModeError, match="BROWSER"):
        PyWry(mode="floating")
    app = PyWry(mode="browser", open_browser=False)
    assert app.mode is WindowMode.BROWSER and PyWry().mode is WindowMode.BROWSER
    assert app.url is None and not app.running
    with pytest.raises(TypeError, match="check_origin"):
        PyWry(check_origin="https://x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="allowed host"):
        PyWry(allowed_hosts=["bad host"])
    app.destroy()
    with pytest.raises(RuntimeError, match="destroyed"):
        app.show("<p>late</p>")


# -- serving -------------------------------------------------------------------------------------
def test_widgets_on_their_own_urls_with_free_port(make_app: Callable[..., PyWry]) -> None:
    app = make_app()
    h1 = app.show("<h1>Chart</h1>", label="chart", title="Chart page")
    h2 = app.show("<h1>Table</h1>", label="table")
    h3 = app.show("<p>anonymous</p>")
    assert app.port and app.port != 0
    assert h1.url == f"http://127.0.0.1:{app.port}/widget/chart"
    assert h2.url == f"http://127.0.0.1:{app.port}/widget/table"
    assert (h1.label, h2.label) == ("chart", "table") and h3.label.startswith(
        "m-"
    )  # unnamed: a stable auto label
    pages = {h.label: httpx.get(h.url, timeout=5) for h in (h1, h2, h3)}
    assert all(r.status_code == 200 for r in pages.values())
    assert (
        "<h1>Chart</h1>" in pages["chart"].text
        and "<title>Chart page</title>" in pages["chart"].text
    )
    assert "<h1>Table</h1>" in pages["table"].text and "Chart" not in pages["table"].text
    assert "anonymous" in pages[h3.label].text
    assert httpx.get(f"{app.url}/widget/nope", timeout=5).status_code == 404
    assert httpx.get(f"{app.url}/health", timeout=5).json() == {"status": "ok"}
    assert health(app)["widgets"] == 3


def test_events_flow_and_block_returns_after_last_page(make_app: Callable[..., PyWry]) -> None:
    app = make_app(server={"reconnect_timeout": 0.3})
    seen: list[tuple[Any, str, str]] = []

    def on_click(data: Any, event_type: str, label: str) -> None:
        seen.append((data, event_type, label))
        handle.emit("app:response", {"message": "Button clicked!"})

    handle = app.show("<button>Click</button>", label="cb", callbacks={"app:click": on_click})
    # No page has connected yet: block() keeps waiting (here until its timeout).
    assert app.block(timeout=0.3) is False
    with open_ws(handle, token=handle.token) as ws:
        send_event(ws, "app:click", 1, {"n": 1})
        got = messages(ws, until="app:response")
        assert {"type": "pywry:ack", "data": {"id": 1}} in got
        assert got[-1]["data"] == {"message": "Button clicked!"}
        assert seen == [({"n": 1}, "app:click", "cb")]
        assert health(app)["connections"] == 1
        # Showing the same label again updates the open page (and opens no second tab).
        again = app.show("<p>v2</p>", label="cb", callbacks={"app:click": on_click})
        assert again.label == "cb" and again.token == handle.token
        assert messages(ws, until="pywry:update-html")[-1]["data"] == {"html": "<p>v2</p>"}
    started = time.monotonic()
    assert app.block(timeout=10) is True
    waited = time.monotonic() - started
    assert 0.2 <= waited < 5, waited
    assert app.running  # block() returning does not stop the server; destroy() does


def test_a_widget_shown_by_a_callback_gets_an_unguessable_label_and_one_visitor(
    make_app: Callable[..., PyWry],
) -> None:
    """A report shown from a callback is made at run time: a label derived from the code
    (file, line) would let anyone who reads the code fetch its page and token."""
    app = make_app()
    shown: list[WidgetHandle] = []

    def on_report(data: Any, event_type: str, label: str) -> None:
        shown.append(app.show("<p>quarterly report</p>"))  # the same line every time
        desk.emit("app:report", {"label": shown[-1].label})

    desk = app.show("<button>Report</button>", label="desk", callbacks={"app:report": on_report})
    script_level = app.show("<p>script</p>")
    assert script_level.label.startswith("m-")  # the script's own widgets keep stable labels
    cookie = httpx.get(desk.url, timeout=5).headers["set-cookie"].split(";")[0]
    with connect(
        ws_url(desk),
        subprotocols=[f"pywry.token.{desk.token}"],  # type: ignore[list-item]
        additional_headers={"Cookie": cookie},
        open_timeout=5,
    ) as ws:
        labels = []
        for ident in (1, 2):
            send_event(ws, "app:report", ident)
            labels.append(messages(ws, until="app:report")[-1]["data"]["label"])
    assert labels[0] != labels[1] and all(lb.startswith("w-") for lb in labels)
    url = shown[0].url
    stranger = httpx.get(url, timeout=5)  # knowing the label is not enough: it is per-visitor
    assert stranger.status_code == 403 and shown[0].token not in stranger.text
    mine = httpx.get(url, headers={"Cookie": cookie}, timeout=5)
    assert mine.status_code == 200 and "quarterly report" in mine.text


def test_block_returns_when_destroyed_from_another_thread(make_app: Callable[..., PyWry]) -> None:
    app = make_app()
    app.show("<p>x</p>", label="x")
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(app.block()), daemon=True)
    waiter.start()
    app.destroy()
    waiter.join(5)
    assert not waiter.is_alive() and result == [False]


# -- refusals ------------------------------------------------------------------------------------
def test_refusals_leave_the_server_unchanged(make_app: Callable[..., PyWry]) -> None:
    app = make_app()
    handle = app.show("<p>guarded</p>", label="guarded")
    token, before = handle.token, health(app)

    # A foreign Origin on the WebSocket handshake: 4003.
    with open_ws(handle, token=token, origin="http://evil.example") as ws:
        assert close_code(ws) == 4003
    # No token: 4001. A wrong token: 4001. Unknown widget: 4004.
    with open_ws(handle) as ws:
        assert close_code(ws) == 4001
    with open_ws(handle, token="not-the-token") as ws:
        assert close_code(ws) == 4001
    with open_ws(handle, token=token, label="missing") as ws:
        assert close_code(ws) == 4004
    # A foreign Host (DNS rebinding): HTTP 400 with a plain message, the WebSocket handshake
    # refused, on pywry's routes and the internal ones alike.
    for path in (handle.url, f"{app.url}/register_widget", f"{app.url}/nowhere"):
        res = httpx.get(path, headers={"Host": f"evil.example:{app.port}"}, timeout=5)
        assert res.status_code == 400 and res.headers["content-type"].startswith("text/plain")
        assert "evil.example" in res.text and "PYWRY_SERVER__ALLOWED_HOSTS" in res.text
    raw = socket.create_connection(("127.0.0.1", app.port), timeout=5)
    foreign = f"ws://evil.example:{app.port}/ws/guarded"
    with pytest.raises(InvalidStatus):
        open_ws(
            handle, token=token, sock=raw, uri=foreign, origin=f"http://evil.example:{app.port}"
        )
    # A wrong internal token: /health without details, /register_widget 401.
    plain = httpx.get(f"{app.url}/health", headers={TOKEN_HEADER: "wrong"}, timeout=5)
    assert plain.json() == {"status": "ok"}
    for headers in ({}, {TOKEN_HEADER: "wrong"}):
        res = httpx.post(
            f"{app.url}/register_widget",
            json={"label": "guarded", "html": "<p>hijacked</p>"},
            headers=headers,
            timeout=5,
        )
        assert res.status_code == 401 and res.json()["error"] == "bad-token"
    # /disconnect needs the widget's own token.
    wrong = {"X-PyWry-Token": "wrong", "X-PyWry-Client": "abc"}
    res = httpx.post(f"{app.url}/disconnect/guarded", headers=wrong, timeout=5)
    assert res.status_code == 401

    after = health(app)
    assert after["widgets"] == before["widgets"] == 1 and after["connections"] == 0
    page = httpx.get(handle.url, timeout=5)
    assert page.status_code == 200 and "guarded" in page.text and "hijacked" not in page.text
    assert handle.token == token
    with open_ws(handle, token=token) as ws:  # the rightful page still gets in
        send_event(ws, "app:hello", 1)
        assert messages(ws, until="pywry:ack")[-1]["data"] == {"id": 1}


def test_allowed_origins_with_wildcards(make_app: Callable[..., PyWry]) -> None:
    app = make_app(server={"websocket_allowed_origins": ["https://*.example.com"]})
    handle = app.show("<p>o</p>", label="o")
    with open_ws(handle, token=handle.token, origin="https://app.example.com") as ws:
        send_event(ws, "app:hello", 1)
        assert messages(ws, until="pywry:ack")
    with open_ws(handle, token=handle.token, origin="https://example.com.evil.test") as ws:
        assert close_code(ws) == 4003


def test_check_origin_callable(make_app: Callable[..., PyWry]) -> None:
    asked: list[str] = []

    def check(origin: str) -> bool:
        asked.append(origin)
        return origin == "http://trusted.test"

    app = make_app(check_origin=check)
    handle = app.show("<p>c</p>", label="c")
    with open_ws(handle, token=handle.token, origin="http://trusted.test") as ws:
        send_event(ws, "app:hello", 1)
        assert messages(ws, until="pywry:ack")
    with open_ws(handle, token=handle.token, origin="http://other.test") as ws:
        assert close_code(ws) == 4003
    assert asked == ["http://trusted.test", "http://other.test"]


def test_register_widget_with_internal_token(make_app: Callable[..., PyWry]) -> None:
    app = make_app()
    calls: list[str] = []
    handle = app.show(
        "<p>v1</p>", label="kept", callbacks={"app:x": lambda d, e, lbl: calls.append(e)}
    )
    headers = {TOKEN_HEADER: app.internal_token}
    url = f"{app.url}/register_widget"
    res = httpx.post(
        url, json={"label": "fresh", "html": "<p>new</p>", "title": "T"}, headers=headers
    )
    assert res.status_code == 200 and res.json()["created"] is True
    assert res.json()["url"] == f"{app.url}/widget/fresh"
    assert "<p>new</p>" in httpx.get(res.json()["url"], timeout=5).text

    token = handle.token
    with open_ws(handle, token=token) as ws:
        res = httpx.post(url, json={"label": "kept", "html": "<p>v2</p>"}, headers=headers)
        assert res.status_code == 200 and res.json()["created"] is False
        # The open page is told, and its callbacks and token survive the re-registration.
        update = messages(ws, until="pywry:update-html")[-1]
        assert update["data"] == {"html": "<p>v2</p>"}
        send_event(ws, "app:x", 1)
        messages(ws, until="pywry:ack")
    assert handle.token == token and "<p>v2</p>" in httpx.get(handle.url, timeout=5).text
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:  # the callback runs in the pool
        time.sleep(0.01)
    assert calls == ["app:x"]

    bad = [
        ({"label": "bad label", "html": "x"}, 400),
        ({"label": "ok", "html": 5}, 400),
        ([1, 2], 400),
    ]
    for body, status in bad:
        assert httpx.post(url, json=body, headers=headers).status_code == status
    assert httpx.post(url, content=b"not json", headers=headers).status_code == 400
    assert health(app)["widgets"] == 2


# -- lifecycle -----------------------------------------------------------------------------------
def test_destroy_frees_port_and_threads(make_app: Callable[..., PyWry]) -> None:
    app = make_app()
    handle = app.show("<p>bye</p>", label="bye")
    port, thread = app.port, app._thread
    assert thread is not None and server_threads(thread.name)
    with open_ws(handle, token=handle.token) as ws:
        send_event(ws, "app:hello", 1)
        messages(ws, until="pywry:ack")
        started = time.monotonic()
        app.destroy()  # with a page still connected
        assert time.monotonic() - started < 5
        assert not server_threads(thread.name) and not app.running
        assert close_code(ws) == 1012  # the live page is told the server is going away
    app.destroy()  # idempotent

    with socket.socket() as s:  # the port is free at once (as any server binds it)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    again = make_app(port=port)
    h2 = again.show("<p>again</p>", label="again")
    assert again.port == port and "again" in httpx.get(h2.url, timeout=5).text


def test_two_apps_do_not_share_anything(make_app: Callable[..., PyWry]) -> None:
    a, b = make_app(), make_app()
    ha = a.show("<p>from A</p>", label="same")
    hb = b.show("<p>from B</p>", label="same")
    a.show("<p>only A</p>", label="only-a")
    assert a.port != b.port and a.engine is not b.engine
    assert a.internal_token != b.internal_token
    assert "from A" in httpx.get(ha.url, timeout=5).text
    assert "from B" in httpx.get(hb.url, timeout=5).text
    assert httpx.get(f"{b.url}/widget/only-a", timeout=5).status_code == 404
    with open_ws(hb, token=ha.token) as ws:  # A's token opens nothing on B
        assert close_code(ws) == 4001
    assert health(a)["widgets"] == 2 and health(b)["widgets"] == 1
    a.destroy()
    assert "from B" in httpx.get(hb.url, timeout=5).text


def test_busy_port_moves_to_the_next_free_one_and_says_so(
    make_app: Callable[..., PyWry], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        app = make_app(port=port)
        with caplog.at_level(logging.WARNING, logger="pywry"):
            handle = app.show("<p>moved</p>", label="moved")
        assert app.port is not None and port < app.port <= port + 50
        assert handle.url == f"http://127.0.0.1:{app.port}/widget/moved"
        assert "moved" in httpx.get(handle.url, timeout=5).text
        assert [r.getMessage() for r in caplog.records if r.name == "pywry"] == [
            f"port {port} on 127.0.0.1 is in use: pywry serves on port {app.port} instead "
            "(PYWRY_SERVER__PORT chooses another)"
        ]


def test_an_event_without_a_callback_is_logged_at_debug(
    make_app: Callable[..., PyWry], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()

    def ping(data: Any, event_type: str, label: str) -> None:
        handle.emit("app:pong", {})

    handle = app.show("<p>x</p>", label="quiet", callbacks={"app:ping": ping})
    with caplog.at_level(logging.DEBUG, logger="pywry.dispatch"):
        with open_ws(handle, token=handle.token) as ws:
            send_event(ws, "app:nobody", 1)
            send_event(ws, "app:ping", 2)  # handled after the first one
            messages(ws, "app:pong")
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "pywry.dispatch"] == [
        (logging.DEBUG, "no callback for event 'app:nobody' on widget 'quiet'; ignored")
    ]


def test_block_says_what_it_waits_for_and_ctrl_c_ends_it() -> None:
    port = free_port()
    env = clean_env(PYWRY_SERVER__PORT=str(port), PYWRY_SERVER__OPEN_BROWSER="false")
    proc = spawn([sys.executable, str(EXAMPLES / "browser_multiple.py")], env)
    urls = read_lines(proc, 2)
    assert urls == [
        f"http://127.0.0.1:{port}/widget/chart",
        f"http://127.0.0.1:{port}/widget/table",
    ]
    (said,) = read_lines(proc, 1, stderr=True)
    assert said == (
        f"pywry: serving 2 widgets at http://127.0.0.1:{port}/widget/... (chart, table); "
        "waiting until their pages are closed; press Ctrl+C to stop"
    )
    status, err = ctrl_c(proc)
    assert status == 0 and "Traceback" not in err, err


# -- Host policy (framework-neutral) -------------------------------------------------------------
def test_host_policy() -> None:
    local = HostPolicy()
    for ok in ("127.0.0.1:8765", "localhost:8765", "LOCALHOST", "[::1]:1", "localhost.:8765"):
        assert local.allows(ok, "127.0.0.1"), ok  # any port: an SSH tunnel may map another
    assert local.allows("10.0.0.5:8765", "127.0.0.1")  # an address cannot be rebound
    for bad in (None, "", "evil.example:8765", "localhost:8765@evil", "::1", "10.0.0.5.evil"):
        assert not local.allows(bad, "127.0.0.1"), bad
    assert local.allows("evil.example", "0.0.0.0") and local.open_on("")  # nothing to go by
    assert not local.open_on("localhost") and not local.open_on("[::1]")
    listed = HostPolicy(["dash.example.com", "*.example.org", "localhost:9001", "[::1]:9002"])
    for bind in ("127.0.0.1", "0.0.0.0"):
        assert listed.allows("dash.example.com:9000", bind) and listed.allows("a.example.org", bind)
        assert listed.allows("localhost:1", bind) and listed.allows("[::1]:9002", bind)
        assert not listed.allows("evil.example", bind) and not listed.allows("example.org", bind)
        assert not listed.open_on(bind)
    assert HostPolicy(["*"]).allows("anything:5", "127.0.0.1")
    with pytest.raises(ValueError, match="allowed host 'a b'"):
        HostPolicy(["a b"])
    assert split_host("[::1]:80") == ("::1", 80) and split_host("a:b") is None


# -- browser opening, headless, Ctrl+C ------------------------------------------------------------
def _browser_script(tmp_path: Path) -> Path:
    """A stand-in system browser: prints what it was asked to open (on the example's stdout)."""
    script = tmp_path / "fake-browser"
    script.write_text('#!/bin/sh\necho "OPENED $1"\n')
    script.chmod(0o755)
    return script


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses DISPLAY and a sh script")
def test_example_opens_each_widget_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = clean_env(PYWRY_SERVER__PORT="0", DISPLAY=":99", BROWSER=str(_browser_script(tmp_path)))
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "browser_multiple.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,  # unbuffered: select() then sees every line that is not read yet
    )
    try:
        lines = read_lines(proc, 4)
        urls = [line for line in lines if not line.startswith("OPENED ")]
        opened = sorted(
            line.removeprefix("OPENED ") for line in lines if line.startswith("OPENED ")
        )
        assert sorted(urls) == opened and len(urls) == 2
        assert {u.rsplit("/", 1)[1] for u in urls} == {"chart", "table"}
        assert httpx.get(urls[0], timeout=5).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0  # block() caught Ctrl+C, destroy() stopped the server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_no_browser_when_headless_or_turned_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BROWSER", str(_browser_script(tmp_path)))
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)

    def opener_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "pywry-open-browser"]

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("PYWRY_SERVER__OPEN_BROWSER", "false")
    app = PyWry(port=0)
    assert app.settings.server.open_browser is False
    app.show("<p>x</p>")
    app.destroy()
    monkeypatch.delenv("PYWRY_SERVER__OPEN_BROWSER")
    monkeypatch.setenv("PYWRY_HEADLESS", "1")
    assert is_headless()
    app = PyWry(port=0)
    handle = app.show("<p>y</p>")
    app.destroy()
    assert not opener_threads()
    assert f"open {handle.url}" in capsys.readouterr().err
    monkeypatch.delenv("PYWRY_HEADLESS")
    if sys.platform.startswith("linux"):
        monkeypatch.delenv("DISPLAY")
        assert is_headless()
        monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
        assert not is_headless()


def test_hello_example_waits_for_a_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """A page load alone is not a connection: block() keeps waiting; Ctrl+C ends it cleanly."""
    env = clean_env(PYWRY_SERVER__PORT="0", PYWRY_SERVER__RECONNECT_TIMEOUT="0")
    env["PYWRY_SERVER__OPEN_BROWSER"] = "false"
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "browser_hello.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,  # unbuffered: select() then sees every line that is not read yet
    )
    try:
        (url,) = read_lines(proc, 1)
        assert httpx.get(url, timeout=5).status_code == 200  # a page load is not a connection
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def _custom_host(port: int, **env: str) -> subprocess.Popen[bytes]:
    env = clean_env(PYWRY_SERVER__PORT=str(port), PYWRY_SERVER__OPEN_BROWSER="false", **env)
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / "browser_custom_host.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,  # one warning line at most: read once the process ended
        bufsize=0,  # unbuffered: select() then sees every line that is not read yet
    )


OPEN_HOSTS = "PYWRY_SERVER__ALLOWED_HOSTS is empty"


@pytest.mark.parametrize("host", ["", "0.0.0.0"])
def test_custom_host_example_binds_loopback_unless_told(tmp_path: Path, host: str) -> None:
    """As the README runs it, the example listens on 127.0.0.1 only and answers to the loopback
    names only; with PYWRY_SERVER__HOST=0.0.0.0 on every interface, where with no
    ALLOWED_HOSTS it answers to every name and says once at start how to narrow that."""
    port = free_port()
    proc = _custom_host(port, **({"PYWRY_SERVER__HOST": host} if host else {}))
    try:
        (url,) = read_lines(proc, 1)
        # the port asked for, or the next free one when another process took it meanwhile
        found = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/widget/\S+", url)
        assert found is not None, url
        port = int(found.group(1))
        assert "Available on the network" in httpx.get(url, timeout=5).text
        assert listening_addresses(port) == {host or "127.0.0.1"}
        for name in (socket.gethostname(), "rebind.test"):
            other = httpx.get(url, headers={"Host": f"{name}:{port}"}, timeout=5)
            assert other.status_code == (200 if host else 400), name
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert proc.stderr.read().decode().count(OPEN_HOSTS) == (1 if host else 0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_env_reaches_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_SERVER__INTERNAL_API_TOKEN", "from-env-token")
    monkeypatch.setenv("PYWRY_SERVER__PORT", "0")
    app = PyWry(open_browser=False)
    try:
        assert app.internal_token == "from-env-token"
        app.show("<p>e</p>")
        assert health(app)["widgets"] == 1
    finally:
        app.destroy()
    assert os.environ["PYWRY_SERVER__PORT"] == "0"


def test_auto_start_off_waits_for_start(make_app: Callable[..., PyWry]) -> None:
    app = make_app(server={"auto_start": False})
    handle = app.show("<p>later</p>", label="later")
    assert app.url is None and not app.running
    base = app.start()
    assert base == app.url and app.running and handle.url == f"{base}/widget/later"
    assert "later" in httpx.get(handle.url, timeout=5).text
    assert app.start() == base  # starting twice is harmless


def test_show_with_toolbars(make_app: Callable[..., PyWry]) -> None:
    app = make_app()
    bar = Toolbar(position="top", items=[Button(label="Export", event="app:export")])
    handle = app.show("<p>body</p>", label="tb", toolbars=[bar])
    page = httpx.get(handle.url, timeout=5).text
    assert "<p>body</p>" in page and "Export" in page and "pywry-toolbar-top" in page
    with pytest.raises(TypeError, match=r"toolbars\[0\]"):
        app.show("<p>x</p>", toolbars=["not a toolbar"])
