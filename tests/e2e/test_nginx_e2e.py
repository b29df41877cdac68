"""Chromium through Debian's nginx running the proxy block of docs/production.md, on Redis.

The documented block itself is run (its listen port, certificate and upstream servers filled in):
in front of one deploy() with two workers, a page loads, its WebSocket opens (its `Origin` names
the port nginx listens on, so `Host` must keep it), an event makes the round trip, and the HTTP
event stream is not buffered. In front of three deploy() processes, a rolling restart (SIGTERM
one, start it again, then the next) while pages send numbered events loses nothing: every event
is acknowledged, its callback ran exactly once, and the pages go on with the other workers.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sseclient import StreamClient
from tests.integration.wsclient import page_bootstrap
from tests.nginx_server import NginxServer
from tests.support import (
    ROOT,
    Server,
    clean_env,
    free_port,
    make_certificate,
    run_server,
    wait_http,
)

pytestmark = pytest.mark.e2e
SHARED_APP = ROOT / "tests" / "apps" / "shared_app.py"
OPS_APP = ROOT / "tests" / "apps" / "ops_app.py"


def redis_env(redis_server) -> dict[str, str]:
    return {
        "PYWRY_SERVER__HOST": "127.0.0.1",
        "PYWRY_SERVER__ACCESS_LOG": "false",
        "PYWRY_DEPLOY__STATE_BACKEND": "redis",
        "PYWRY_DEPLOY__REDIS_URL": redis_server.url,
        "PYWRY_DEPLOY__REDIS_PREFIX": "n" + uuid.uuid4().hex[:8],
    }


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def proxied(redis_server, certificate, tmp_path_factory) -> Iterator[NginxServer]:
    """The documented nginx block in front of one deploy() with two workers."""
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__PORT=str(port), PYWRY_SERVER__WORKERS="2", **redis_env(redis_server)
    )
    folder = tmp_path_factory.mktemp("nginx-docs")
    with run_server([sys.executable, str(SHARED_APP)], env, port, folder, ready_path="/ready"):
        nginx = NginxServer(folder / "nginx", free_port(), [f"127.0.0.1:{port}"], *certificate)
        nginx.start()
        try:
            yield nginx
        finally:
            nginx.stop()


def test_chromium_through_the_documented_nginx_config(browser, proxied: NginxServer) -> None:
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(proxied.url + "/widget/board")
        assert page.text_content("h1") == "Shared board"
        page.wait_for_function("window.pywry.state === 'open'", timeout=15_000)
        assert page.evaluate("window.pywry.transport") == "websocket"
        answer = page.evaluate(
            """() => new Promise((resolve) => {
                window.pywry.on("app:answer", (d) => resolve(d));
                window.pywry.emit("app:click", {n: 7});
            })"""
        )
        assert answer["n"] == 7
    finally:
        context.close()


def test_the_event_stream_through_nginx_is_not_buffered(
    proxied: NginxServer, certificate, monkeypatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # httpx trusts the test's certificate
    boot = page_bootstrap(proxied.url + "/widget/board")
    stream = StreamClient(proxied.url, boot)
    try:
        stream.send("app:click", {"n": 8})
        answer, _ = stream.recv_until("app:answer", timeout=5)  # the stream lasts 25 s
        assert answer["data"]["n"] == 8
        assert stream.stream_ends == [] and stream.streams == 1
    finally:
        stream.close()


# -- a rolling restart under load ----------------------------------------------------------------
class Fleet:
    """Three deploy() processes on fixed ports (a restarted one comes back on its own port)."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.ports = {f"w{i}": free_port() for i in (1, 2, 3)}
        self.servers: dict[str, Server] = {}

    def start(self, name: str) -> Server:
        port = self.ports[name]
        env = clean_env(PYWRY_SERVER__PORT=str(port), TEST_WORKER_NAME=name, **self.env)
        log = self.folder / f"{name}-{len(self.servers)}-{time.monotonic_ns()}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(OPS_APP)], env=env, cwd=ROOT, stdout=out, stderr=out
            )
        server = Server(proc, f"http://127.0.0.1:{port}", log)
        self.servers[name] = server
        wait_http(server.url + "/ready", proc)
        return server

    def drain(self, name: str) -> float:
        """SIGTERM a worker; returns how long it took to exit by itself."""
        server = self.servers[name]
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(20)
        return time.monotonic() - started

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


SENDER = """(limit) => {
  window.__done = new Set();
  window.__sent = 0;
  window.__stop = false;
  window.pywry.on("app:done", (d) => { window.__done.add(d.n); window.__last = d.worker; });
  window.__slow = 0;  // seconds the next event's callback takes
  const tick = () => {
    if (window.__stop || window.__sent >= limit) return;
    window.__sent += 1;
    window.pywry.emit("app:n", {n: window.__sent, delay: window.__slow});
    if (window.__slow) { window.__slowN = window.__sent; window.__slow = 0; }
    setTimeout(tick, 20);
  };
  tick();
}"""


def test_a_rolling_restart_under_load_loses_nothing(
    browser, redis_server, certificate, tmp_path
) -> None:
    runs = "runs-" + uuid.uuid4().hex[:8]
    env = {**redis_env(redis_server), "OPS_RUNS_KEY": runs}
    env["PYWRY_SERVER__TIMEOUT_GRACEFUL_SHUTDOWN"] = "10"
    fleet = Fleet(env, tmp_path)
    nginx = None
    contexts = []
    try:
        for name in fleet.ports:
            fleet.start(name)
        upstreams = [f"127.0.0.1:{port}" for port in fleet.ports.values()]
        nginx = NginxServer(tmp_path / "nginx", free_port(), upstreams, *certificate).start()
        pages = []
        for _ in range(3):
            context = browser.new_context(ignore_https_errors=True)
            contexts.append(context)
            page = context.new_page()
            page.goto(nginx.url + "/widget/board")
            page.wait_for_function("window.pywry.state === 'open'", timeout=15_000)
            page.evaluate(SENDER, 2000)
            pages.append(page)
        store = redis_server.client()
        restarted: list[str] = []
        for _ in range(2):  # a rolling restart of two of the three workers, each under load
            for page in pages:
                page.wait_for_function("window.__last !== undefined", timeout=15_000)
            page = next(p for p in pages if p.evaluate("window.__last") not in restarted)
            # a callback that is still running when its worker is told to stop
            page.evaluate("window.__slow = 1.5")
            page.wait_for_function("window.__slowN !== undefined", timeout=5_000)
            slow = f"{page.evaluate('window.pywry.clientId')}:{page.evaluate('window.__slowN')}"
            page.evaluate("window.__slowN = undefined")
            deadline = time.monotonic() + 10
            while not store.hexists(f"{runs}:started", slow):
                assert time.monotonic() < deadline, "the slow callback never started"
                time.sleep(0.02)
            victim = store.hget(f"{runs}:started", slow).decode()
            assert victim not in restarted
            sent_before = [page.evaluate("window.__sent") for page in pages]
            # an HTTP-stream page on the victim too: its stream must not hold the drain up
            direct = fleet.servers[victim].url
            follower = StreamClient(direct, page_bootstrap(direct + "/widget/board"), reopen=False)
            assert fleet.drain(victim) < 6  # the slow callback (1.5 s), not the stream (25 s)
            follower.close()
            assert store.hget(runs, slow) == b"1"  # it finished before the worker exited
            fleet.start(victim)
            restarted.append(victim)
            for page, before in zip(pages, sent_before, strict=True):  # every page goes on
                page.wait_for_function(f"window.__done.size > {before}", timeout=20_000)
        for page in pages:
            page.evaluate("window.__stop = true")
        for page in pages:
            page.wait_for_function(
                "window.__done.size === window.__sent && window.pywry.unacked === 0",
                timeout=30_000,
            )
        expected: dict[bytes, bytes] = {}
        for page in pages:
            client = page.evaluate("window.pywry.clientId")
            sent = page.evaluate("window.__sent")
            assert sent > 50
            expected.update({f"{client}:{n}".encode(): b"1" for n in range(1, sent + 1)})
        assert redis_server.client().hgetall(runs) == expected  # each callback ran exactly once
    finally:
        for context in contexts:
            context.close()
        if nginx is not None:
            nginx.stop()
        fleet.stop()
