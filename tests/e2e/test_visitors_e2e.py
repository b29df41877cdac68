"""Two visitors and a raw third viewer on the Full Example's one module-level dashboard, served
by two worker processes sharing Redis (and again SQLite), each page on a worker of its own.

What one visitor does reaches that visitor only: their chart, their file, their session on any
worker. An emit from outside any callback reaches every page, once."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_multiworker import backend_env
from tests.integration.wsclient import Client, page_bootstrap
from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.e2e
APP = ROOT / "tests" / "apps" / "visitors_app.py"
PLOT = "document.querySelector('.js-plotly-plot')"
PLOTTED_Y = f"Array.from({PLOT}.data[0].y)"
REGION = "select[data-pywry-event='chart:region']"
SALES = {"all": [100, 150, 130, 180], "north": [60, 90, 70, 100]}
CSV = {
    region: "quarter,value\n" + "\n".join(f"Q{i + 1},{v}" for i, v in enumerate(ys))
    for region, ys in SALES.items()
}
# Watch every message the page's bridge hands to page code, by type. (A function: Playwright
# would call the unsubscribe function `pywry.on` returns if the expression ended with it.)
WATCH = "() => { window.seen = []; pywry.on('*', (d, type) => window.seen.push([type, d])); }"


@pytest.fixture(scope="module", params=["redis", "sqlite"])
def two_workers(request, redis_server, tmp_path_factory) -> Iterator[list[Server]]:
    folder = tmp_path_factory.mktemp(f"visitors-{request.param}")
    env = backend_env(request.param, redis_server, folder)
    with ExitStack() as stack:
        servers = []
        for name in ("w1", "w2"):
            port = free_port()
            full = clean_env(
                PYWRY_SERVER__HOST="127.0.0.1",
                PYWRY_SERVER__PORT=str(port),
                TEST_WORKER_NAME=name,
                **env,
            )
            argv = [sys.executable, str(APP)]
            servers.append(
                stack.enter_context(run_server(argv, full, port, folder, ready_path="/"))
            )
        yield servers


class Viewer:
    """A raw page with no browser: counts every byte the server sends it."""

    def __init__(self, server: Server) -> None:
        self.client = Client(server.url, page_bootstrap(server.url + "/"))
        self.frames: list[str] = []

    def read_until_announce(self, n: int) -> list[dict[str, Any]]:
        """Everything received up to announcement `n`, which is the last item."""
        messages: list[dict[str, Any]] = []
        for _ in range(1000):
            text = self.client.ws.recv(timeout=20)
            assert isinstance(text, str)
            self.frames.append(text)
            body = json.loads(text)
            messages.extend(body["events"] if "events" in body else [body])
            if any(m["type"] == "app:announce" and m["data"]["n"] == n for m in messages):
                return messages
        raise AssertionError(f"no announcement {n}")


def open_dashboard(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.evaluate("window.pywry.ready")
    page.evaluate(WATCH)
    page.wait_for_function(f"{PLOT} && {PLOT}._fullLayout && {PLOT}.data.length > 0")


def shows(page: Any, region: str) -> None:
    want = json.dumps(json.dumps(SALES[region], separators=(",", ":")))
    page.wait_for_function(f"JSON.stringify({PLOTTED_Y}) === {want}")


def export(page: Any, tmp: Path) -> str:
    with page.expect_download(timeout=20_000) as info:
        page.click("button:has-text('Export CSV')")
    assert info.value.suggested_filename == "data.csv"
    target = tmp / f"{uuid.uuid4().hex}.csv"
    info.value.save_as(target)
    return target.read_text()


def announce(server: Server, n: int) -> None:
    assert httpx.post(f"{server.url}/announce", params={"n": n}, timeout=10).status_code == 200


def announcements(page: Any, n: int) -> int:
    page.wait_for_function(
        f"window.seen.some(([t, d]) => t === 'app:announce' && d.n === {n})", timeout=20_000
    )
    return page.evaluate(
        f"window.seen.filter(([t, d]) => t === 'app:announce' && d.n === {n}).length"
    )


def test_each_visitor_sees_and_exports_their_own_region_on_any_worker(
    two_workers: list[Server], browser, tmp_path: Path
) -> None:
    w1, w2 = two_workers
    contexts = [browser.new_context(accept_downloads=True) for _ in range(2)]
    try:
        a, b = (ctx.new_page() for ctx in contexts)
        downloads: dict[str, list[str]] = {"a": [], "b": []}
        a.on("download", lambda d: downloads["a"].append(d.suggested_filename))
        b.on("download", lambda d: downloads["b"].append(d.suggested_filename))
        open_dashboard(a, w1)
        open_dashboard(b, w2)
        viewer = Viewer(w1)
        try:
            a.select_option(REGION, "north")
            shows(a, "north")
            assert export(a, tmp_path) == CSV["north"]
            assert export(b, tmp_path) == CSV["all"]
            shows(b, "all")
            assert b.eval_on_selector(REGION, "s => s.value") == "all"
            # A comes back on the other worker: the session (in the shared store) remembers North
            open_dashboard(a, w2)
            shows(a, "north")
            assert a.eval_on_selector(REGION, "s => s.value") == "north"
            assert export(a, tmp_path) == CSV["north"]
            # An emit outside any callback, on the worker none of the browsers is on now
            announce(w1, 1)
            assert announcements(a, 1) == 1 and announcements(b, 1) == 1
            seen_by_viewer = viewer.read_until_announce(1)
            announce(w2, 2)
            assert announcements(a, 2) == 1 and announcements(b, 2) == 1
            seen_by_viewer += viewer.read_until_announce(2)
        finally:
            viewer.client.close()
        shows(b, "all")  # after the barrier: nothing of A's ever redrew B's chart
        b_types = [t for t, _ in b.evaluate("window.seen")]
        assert b_types == ["pywry:download", "app:announce", "app:announce"], b_types
        assert downloads == {"a": ["data.csv", "data.csv"], "b": ["data.csv"]}
        # the raw viewer got not one byte of either visitor's replies: its session's start and
        # the two announcements, nothing else
        kinds = [m["type"] for m in seen_by_viewer]
        assert kinds == ["pywry:position", "app:announce", "app:announce"], kinds
        assert [m["data"] for m in seen_by_viewer[1:]] == [
            {"n": 1, "worker": "w1"},
            {"n": 2, "worker": "w2"},
        ]
    finally:
        for ctx in contexts:
            ctx.close()
