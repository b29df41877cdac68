"""Directory deploy in a real Chromium, started through the command line (`python -m pywry
path-deploy`): one worker on the memory backend, and two worker processes sharing SQLite.

Index pages list what is served, `/A/b` runs its callback, two visits are two widgets, every
hidden name and every way out of the folder is 404, and an edited file is served after
`?reload` (and is picked up without it too). Ctrl+C then stops the server cleanly."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.apps.path_tree import app_source, make_tree
from tests.integration.test_multiworker import backend_env
from tests.support import ROOT, clean_env, ctrl_c, free_port, raw_status, spawn, wait_http

pytestmark = pytest.mark.e2e


@dataclass
class Deployed:
    url: str
    base: Path
    proc: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def start(base: Path, env: dict[str, str], *flags: str) -> Deployed:
    port = free_port()
    argv = [sys.executable, "-m", "pywry", "path-deploy", str(base), "--port", str(port), *flags]
    proc = spawn(argv, clean_env(PYWRY_SERVER__HOST="127.0.0.1", **env), cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", proc, timeout=60)
    except BaseException:
        ctrl_c(proc)
        raise
    return Deployed(url, base, proc)


def stop(deployed: Deployed) -> None:
    """Ctrl+C, as in a terminal: exit status 0 and no traceback."""
    status, err = ctrl_c(deployed.proc)
    assert status == 0 and "Traceback" not in err, err[-3000:]


@pytest.fixture(scope="module", params=["one-worker", "two-workers-sqlite"])
def deployed(request, tmp_path_factory) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp(request.param)
    base = make_tree(root)
    if request.param == "one-worker":
        server = start(base, {})
    else:
        env = backend_env("sqlite", None, root)
        server = start(base, env, "--workers", "2")
    yield server
    stop(server)


def links(page: Any) -> list[str]:
    return page.eval_on_selector_all("ul.pywry-apps a", "as => as.map(a => a.textContent)")


def test_index_pages_list_the_applications_and_folders(deployed: Deployed, page) -> None:
    page.goto(deployed.url + "/")
    assert links(page) == ["A/", "C/", "c"]  # nothing hidden, nothing pointing out
    page.click('text="A/"')
    page.wait_for_url(deployed.url + "/A/")
    assert links(page) == ["../", "sub/", "b"]  # not _hidden, .dot, _private or notapp
    page.click('text="sub/"')
    assert links(page) == ["../", "d"]
    page.goto(deployed.url + "/C")  # C/index.py is C's page, not a list
    page.wait_for_function("document.getElementById('title').textContent === 'C index'")


def click_and_read(page: Any, expected: str) -> None:
    page.click("#go")
    page.wait_for_function(f"document.getElementById('out').textContent === {expected!r}")


def label_of(page: Any) -> str:
    return page.evaluate("window.pywry.label")


def test_an_application_runs_its_callback_and_each_visit_is_its_own_widget(
    deployed: Deployed, browser
) -> None:
    contexts = [browser.new_context() for _ in range(2)]
    try:
        one, two = (ctx.new_page() for ctx in contexts)
        for pg in (one, two):
            pg.goto(deployed.url + "/A")
            pg.click('text="b"')
            pg.wait_for_url(deployed.url + "/A/b")
            pg.evaluate("window.pywry.ready")
        assert one.text_content("#title") == "B one"
        click_and_read(one, "B one 1")
        click_and_read(one, "B one 2")
        click_and_read(two, "B one 1")  # its own main(), its own clicks
        assert label_of(one) != label_of(two)
        third = contexts[0].new_page()  # the same browser visiting again: a new widget too
        third.goto(deployed.url + "/A/b")
        third.evaluate("window.pywry.ready")
        click_and_read(third, "B one 1")
        assert label_of(third) not in (label_of(one), label_of(two))
    finally:
        for ctx in contexts:
            ctx.close()


HIDDEN = [
    "/_secret", "/_drafts/", "/_drafts/g", "/A/_hidden", "/A/_private/", "/A/_private/e",
    "/A/.dot", "/.hidden/", "/.hidden/h", "/A/notapp", "/A/b.py", "/link_out/", "/link_out/x",
    "/link_hidden/", "/link_hidden/e", "/nope", "/A/nope",
]  # fmt: skip
# Sent byte for byte (a browser would resolve the dots before sending them).
TRAVERSALS = [
    "/../outside/x", "/A/../../outside/x", "/A/../_secret", "/%2e%2e/outside/x",
    "/A/%2E%2E/%2e%2e/outside/x", "/..%2foutside%2fx", "/A%2f..%2f..%2foutside%2fx",
    "/%2e%2e%2f%2e%2e%2foutside/x", "//outside/x", "/./_secret", "/A/./_hidden", "/%5fsecret",
    "/A/%2e%64ot", "/c%00", "/..", "/A/..%5c..%5coutside%5cx",
]  # fmt: skip


def test_hidden_names_and_ways_out_of_the_folder_are_404(deployed: Deployed, page) -> None:
    for path in HIDDEN:
        response = page.goto(deployed.url + path)
        assert response is not None and response.status == 404, path
    for target in TRAVERSALS:
        assert raw_status(deployed.port, target) == 404, target
    assert raw_status(deployed.port, "/A/b") == 200  # the same way, what is served answers


def test_an_edited_file_is_served_after_reload(deployed: Deployed, page) -> None:
    source = deployed.base / "A" / "sub" / "d.py"
    page.goto(deployed.url + "/A/sub/d")
    assert page.text_content("#title") == "D"
    source.write_text(app_source("D edited"))
    page.goto(deployed.url + "/A/sub/d?reload")
    page.evaluate("window.pywry.ready")
    assert page.text_content("#title") == "D edited"
    click_and_read(page, "D edited 1")
    source.write_text(app_source("D edited twice"))
    for _ in range(3):  # without ?reload, on whichever worker: the change shows all the same
        with httpx.Client() as client:  # a new connection each time
            assert "D edited twice" in client.get(deployed.url + "/A/sub/d").text


def test_the_http_stream_only_variant_opens_no_socket(tmp_path: Path, page) -> None:
    server = start(make_tree(tmp_path), {}, "--http")
    try:
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(server.url + "/A/b")
        page.evaluate("window.pywry.ready")
        click_and_read(page, "B one 1")
        assert page.evaluate("window.pywry.transport") == "http" and sockets == []
        page.close()  # its stream ends (uvicorn's graceful shutdown waits for open streams)
    finally:
        stop(server)
