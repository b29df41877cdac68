"""Two visitors on the Flask dashboard under `gunicorn -w 3`, over the HTTP stream (SSE + POST),
on Redis and on SQLite: each gets its own answers and nothing of the other's.

Visitors A and B are two Chromium contexts (two sessions) on examples/flask_app.py's page; a
third viewer is a raw HTTP-stream client with its own session that records every byte it gets.
Replies to a callback (update_figure, set_toolbar_value, download) reach the page that sent the
event only; `POST /announce` emits from outside any callback and reaches every page once.

Nothing here sleeps: an announce is also the barrier. The widget's stream is ordered, so once a
page has an announce, everything broadcast before it has reached that page too; had a reply
been broadcast, every receiver would have it by then. `warm_up` makes sure all the workers are
up and serving before the visitors come.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.sseclient import StreamClient
from tests.integration.wsclient import page_bootstrap
from tests.redis_server import RedisServer
from tests.support import Server, clean_env, free_port, run_server

pytestmark = pytest.mark.e2e

ALL = [100, 150, 130, 180]
NORTH = [60, 90, 70, 100]
ALL_CSV = "quarter,value\nQ1,100\nQ2,150\nQ3,130\nQ4,180"
NORTH_CSV = "quarter,value\nQ1,60\nQ2,90\nQ3,70\nQ4,100"
REPLIES = ("plotly:update-figure", "plotly:update-layout", "toolbar:set-value", "pywry:download")
PLOT = "document.querySelector('.js-plotly-plot')"
PLOTTED_Y = f"Array.from({PLOT}.data[0].y)"
REGION = "select[data-pywry-event='chart:region']"
WAIT_MS = 15_000

# Every server message a page receives, recorded by a "*" handler of the bridge.
RECORD = """() => {
  window.__seen = [];
  window.pywry.on("*", (data, type, msg) => window.__seen.push({
    type: type, nonce: data && data.nonce, seq: msg.seq, cseq: msg.cseq, sseq: msg.sseq}));
}"""


@pytest.fixture(scope="module")
def redis_for_visitors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-visitors")).start()
    yield server
    server.stop()


def backend_env(kind: str, request: pytest.FixtureRequest, folder: Path) -> dict[str, str]:
    """The environment of workers that share a `kind` ("redis" or "sqlite") backend."""
    if kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_for_visitors")
        backend = {
            "PYWRY_DEPLOY__REDIS_URL": redis.url,
            "PYWRY_DEPLOY__REDIS_PREFIX": "fv" + uuid.uuid4().hex[:8],
        }
    else:
        backend = {
            "PYWRY_DEPLOY__SQLITE_PATH": str(folder / "state.db"),
            "PYWRY_SQLITE_KEY": "test-key",
        }
    return clean_env(PYWRY_DEPLOY__STATE_BACKEND=kind, FLASK_SECRET_KEY="t", **backend)


@contextmanager
def gunicorn(env: dict[str, str], workers: int, folder: Path, ready_path: str) -> Iterator[Server]:
    """tests/apps/flask_visitors.py under gunicorn with `workers` gthread workers."""
    port = free_port()
    argv = [
        sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", "16",
        "--graceful-timeout", "1", "--no-control-socket", "-b", f"127.0.0.1:{port}",
        "tests.apps.flask_visitors:app",
    ]  # fmt: skip
    with run_server(argv, env, port, folder, ready_path=ready_path) as server:
        yield server


def warm_up(server: Server, workers: int) -> set[str]:
    """Have every worker serve one pywry request; their pids.

    Each GET opens a new connection, so the workers take turns; bounded.
    """
    pids: set[str] = set()
    for _ in range(300):
        pids.add(httpx.get(server.url + "/pywry/health", timeout=5).headers["x-worker-pid"])
        if len(pids) == workers:
            return pids
    raise AssertionError(f"only workers {pids} answered 300 requests")


@pytest.fixture(params=["redis", "sqlite"])
def dashboard(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """Three gthread workers sharing one backend, each of them warmed up."""
    env = backend_env(request.param, request, tmp_path)
    with gunicorn(env, 3, tmp_path, "/pywry/health") as server:
        warm_up(server, 3)
        yield server


class RawViewer(StreamClient):
    """The HTTP-stream client of tests/integration, keeping every byte its streams delivered."""

    def __init__(self, base_url: str, boot: dict[str, Any]) -> None:
        self.raw = bytearray()
        super().__init__(base_url, boot)

    def _read(self, res: httpx.Response) -> None:
        pending = b""
        data: list[str] = []
        for chunk in res.iter_bytes():
            self.raw += chunk
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw_line in lines:
                line = raw_line.decode().rstrip("\r")
                if line == "":
                    if data:
                        self._deliver("\n".join(data))
                    data = []
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
            if self._stop.is_set():
                return


class Visitor:
    """One browser context (one session) showing the host page with the dashboard's iframe."""

    def __init__(self, browser: Any, url: str) -> None:
        self.url = url
        self.context = browser.new_context(accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.downloads: list[Any] = []  # every download of this visitor, for the whole test
        self.workers: set[str] = set()  # pids of the workers that answered pywry's requests
        self.page.on("download", lambda download: self.downloads.append(download))
        self.page.on("response", self._note_worker)
        self.frame: Any = None

    def _note_worker(self, response: Any) -> None:
        if "/pywry/" in response.url:
            pid = response.headers.get("x-worker-pid")
            if pid:
                self.workers.add(pid)

    def open(self, reload: bool = False) -> None:
        """Load (or reload) the page; returns once the bridge is open and the chart drawn."""
        if reload:
            self.page.reload()
        else:
            self.page.goto(self.url + "/")
        frame = self.page.wait_for_selector("iframe.pywry-widget").content_frame()
        assert frame is not None
        frame.wait_for_function("window.pywry && window.pywry.state === 'open'")
        frame.wait_for_function(f"{PLOT} && {PLOT}._fullLayout && {PLOT}.data.length > 0")
        frame.evaluate(RECORD)
        self.frame = frame

    def shows(self, values: list[int], region: str) -> None:
        """Wait until the chart plots `values` and the Select shows `region`."""
        want = json.dumps(json.dumps(values, separators=(",", ":")))
        self.frame.wait_for_function(f"JSON.stringify({PLOTTED_Y}) === {want}")
        assert self.frame.eval_on_selector(REGION, "s => s.value") == region

    def still_shows(self, values: list[int], region: str) -> None:
        """The chart plots `values` and the Select shows `region` now (after a barrier)."""
        assert self.frame.evaluate(PLOTTED_Y) == values
        assert self.frame.eval_on_selector(REGION, "s => s.value") == region

    def choose(self, region: str) -> None:
        self.frame.select_option(REGION, region)

    def export(self, tmp_path: Path) -> str:
        """Click "Export CSV"; the text of the file this visitor's browser downloads."""
        with self.page.expect_download(timeout=WAIT_MS) as info:
            self.frame.click("button:has-text('Export CSV')")
        download = info.value
        assert download.suggested_filename == "data.csv"
        target = tmp_path / f"{uuid.uuid4().hex}.csv"
        download.save_as(target)
        return target.read_text()

    def seen(self) -> list[dict[str, Any]]:
        return self.frame.evaluate("window.__seen")

    def wait_announce(self, nonce: str) -> None:
        self.frame.wait_for_function(
            f"window.__seen.some(m => m.type === 'app:announce' && m.nonce === {json.dumps(nonce)})"
        )

    def close(self) -> None:
        self.context.close()


def announce(server: Server, nonce: str) -> int:
    """POST /announce: an emit from a plain route (no callback); the pid of the worker."""
    res = httpx.post(server.url + "/announce", json={"nonce": nonce}, timeout=10)
    assert res.status_code == 200, res.text
    return int(res.json()["pid"])


def viewer_until(
    viewer: RawViewer, nonce: str, log: list[dict[str, Any]], timeout: float = WAIT_MS / 1000
) -> None:
    """Read the viewer's messages into `log` until the announce `nonce` (bounded)."""
    for _ in range(200):
        msg = viewer.recv(timeout=timeout)
        log.append(msg)
        if msg["type"] == "app:announce" and msg["data"].get("nonce") == nonce:
            return
    raise AssertionError(f"the viewer never got announce {nonce}: {log}")


def barrier(server: Server, nonce: str, a: Visitor, b: Visitor, viewer, log) -> int:
    """Announce `nonce` and wait until A, B and the viewer have it (see the module docstring)."""
    pid = announce(server, nonce)
    a.wait_announce(nonce)
    b.wait_announce(nonce)
    viewer_until(viewer, nonce, log)
    return pid


def announces(messages: list[dict[str, Any]], nonce: str) -> int:
    return sum(1 for m in messages if m.get("type") == "app:announce" and m.get("nonce") == nonce)


def test_two_visitors_get_their_own_answers(dashboard: Server, browser, tmp_path: Path) -> None:
    viewer_log: list[dict[str, Any]] = []
    viewer = RawViewer(dashboard.url, page_bootstrap(dashboard.url + "/pywry/widget/sales"))
    a, b = Visitor(browser, dashboard.url), Visitor(browser, dashboard.url)
    try:
        assert viewer.status == 200 and "pywry_session=" in viewer.boot.get("cookie", "")
        a.open()
        b.open()
        a.shows(ALL, "all")
        b.shows(ALL, "all")

        # A picks North: A's chart redraws, B's does not (checked once B has a later broadcast)
        a.choose("north")
        a.shows(NORTH, "north")
        barrier(dashboard, "step-1", a, b, viewer, viewer_log)
        b.still_shows(ALL, "all")

        # A exports North's file; B downloads nothing
        assert a.export(tmp_path) == NORTH_CSV
        barrier(dashboard, "step-2", a, b, viewer, viewer_log)
        assert b.downloads == []
        assert [m for m in b.seen() if m["type"] in REPLIES] == []

        # B exports: All's file, in B's browser only
        assert b.export(tmp_path) == ALL_CSV
        barrier(dashboard, "step-3", a, b, viewer, viewer_log)
        assert len(a.downloads) == 1 and len(b.downloads) == 1
        assert [m["type"] for m in a.seen()].count("pywry:download") == 1  # its own
        b.still_shows(ALL, "all")

        # A reloads (any worker may answer): the session in the shared backend restores North
        a.open(reload=True)
        a.shows(NORTH, "north")
        assert a.export(tmp_path) == NORTH_CSV
        assert len(a.downloads) == 2

        # an emit from outside any callback reaches every page; "end" tells no copy follows
        pid = barrier(dashboard, "hello", a, b, viewer, viewer_log)
        barrier(dashboard, "end", a, b, viewer, viewer_log)
        for visitor in (a, b):
            assert announces(visitor.seen(), "hello") == 1
        assert sum(1 for m in viewer_log if m["type"] == "app:announce") == 5
        assert viewer.raw.count(b'"nonce":"hello"') == 1

        # the viewer got announces and nothing else: no chart, no toolbar value, no file
        assert {m["type"] for m in viewer_log} <= {"pywry:position", "app:announce"}, viewer_log
        assert not [m for m in viewer_log if "cseq" in m or "sseq" in m], viewer_log
        for leak in (b"North", b"north", b"data.csv", b"quarter,value", b"toolbar:", b"plotly:"):
            assert leak not in viewer.raw, leak

        # B: one download (its own) for the whole test, its chart still All
        b.still_shows(ALL, "all")
        assert len(b.downloads) == 1
        assert [m["type"] for m in b.seen() if m["type"] in REPLIES] == ["pywry:download"]
        # shown with a failure: which workers answered whom (any may answer anything)
        sys.stderr.write(f"workers: A {sorted(a.workers)}, B {sorted(b.workers)}, hello {pid}\n")
    finally:
        a.close()
        b.close()
        viewer.close()


def test_an_emit_on_a_worker_that_served_no_pywry_request_is_published(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Two gunicorns on one SQLite file: the page follows P, the announce is made on Q, a worker
    that has answered nothing of pywry's yet (its readiness check is a host route).

    The announce must be published at once, not wait for Q's first pywry request.
    """
    env = backend_env("sqlite", request, tmp_path)
    with (
        gunicorn(env, 1, tmp_path / "p", "/pywry/health") as pages,
        gunicorn(env, 1, tmp_path / "q", "/pid") as cold,
    ):
        viewer = RawViewer(pages.url, page_bootstrap(pages.url + "/pywry/widget/sales"))
        try:
            announce(cold, "cold")
            viewer_until(viewer, "cold", [], timeout=3)  # milliseconds when published
        finally:
            viewer.close()
