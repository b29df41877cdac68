"""Pages of another origin in a real Chromium: they may not read or frame pywry's pages.

The foreign origin is a second real server on another loopback port (Python's `http.server`
serving two small pages); pywry runs in deploy mode (`tests/apps/origins_app.py`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.e2e

FETCH = """async (url) => {
  try {
    const res = await fetch(url);
    return {read: true, status: res.status, text: await res.text()};
  } catch (e) {
    return {read: false, error: String(e)};
  }
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    env = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port))
    argv = [sys.executable, str(ROOT / "tests" / "apps" / "origins_app.py")]
    with run_server(argv, env, port, tmp_path_factory.mktemp("site")) as srv:
        yield srv


@pytest.fixture(scope="module")
def foreign(site: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder: Path = tmp_path_factory.mktemp("foreign")
    (folder / "blank.html").write_text("<h1>Another site</h1>")
    frame = f'<h1>Another site</h1><iframe id="frame" src="{site.url}/widget/board"></iframe>'
    (folder / "frame.html").write_text(frame)
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with run_server(argv, clean_env(), port, folder, ready_path="/blank.html", cwd=folder) as srv:
        yield srv


def test_a_foreign_page_cannot_read_a_widget_page_but_reads_the_users_route(
    site: Server, foreign: Server, page: Any
) -> None:
    page.goto(foreign.url + "/blank.html")
    widget = page.evaluate(FETCH, site.url + "/widget/board")
    assert widget["read"] is False, "a foreign origin read the widget page (and its token)"
    own = page.evaluate(FETCH, site.url + "/api/ping")
    assert own["read"] is True and json.loads(own["text"]) == {"pong": True}
    # what the browser enforced, as the server says it: no CORS grant on pywry's routes
    for path in ("/widget/board", "/health", "/pywry-static/bridge.js"):
        res = httpx.get(site.url + path, headers={"Origin": foreign.url})
        assert res.status_code == 200 and "access-control-allow-origin" not in res.headers, path
    res = httpx.get(site.url + "/api/ping", headers={"Origin": foreign.url})
    assert res.headers["access-control-allow-origin"] == "*"


def test_only_pages_of_the_same_origin_may_frame_a_widget(
    site: Server, foreign: Server, page: Any
) -> None:
    page.goto(site.url + "/host")
    framed = page.frame_locator("#frame").locator("#title")
    framed.wait_for(timeout=10_000)
    assert framed.text_content() == "Board"

    refusal = page.expect_console_message(lambda m: "frame-ancestors" in m.text, timeout=10_000)
    with refusal as refused:
        page.goto(foreign.url + "/frame.html")
    assert f"Framing '{site.url}/'" in refused.value.text
    assert [f.url for f in page.frames if f.query_selector("#title")] == []
    res = httpx.get(site.url + "/widget/board")
    assert res.headers["content-security-policy"] == "frame-ancestors 'self'"
    assert res.headers["x-frame-options"] == "SAMEORIGIN"
