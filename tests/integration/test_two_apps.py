"""Two apps in one process, mounted side by side: each serves its own widgets and limits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.wsclient import Client, bootstrap
from tests.support import Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.apps.two_apps:host", "--port", str(port)]
    argv += ["--host", "127.0.0.1", "--log-level", "warning"]
    logs: Path = tmp_path_factory.mktemp("two-apps")
    with run_server(argv, clean_env(), port, logs, ready_path="/a/health") as srv:
        yield srv


def _boot(server: Server, mount: str) -> tuple[str, dict]:
    res = httpx.get(f"{server.url}{mount}/widget/board")
    assert res.status_code == 200
    return res.text, bootstrap(res.text)


def test_each_app_serves_its_own_board_under_its_own_mount(server: Server) -> None:
    page_a, boot_a = _boot(server, "/a")
    page_b, boot_b = _boot(server, "/b")
    assert "<h1>Board A</h1>" in page_a and "Board B" not in page_a
    assert "<h1>Board B</h1>" in page_b and "Board A" not in page_b
    assert boot_a["ws"] == "/a/ws/board" and boot_b["ws"] == "/b/ws/board"
    assert '<script src="/a/pywry-static/bridge.js' in page_a
    assert boot_a["token"] != boot_b["token"]
    assert (boot_a["maxPayload"], boot_a["reconnectTimeout"]) == (1024, 2)
    assert (boot_b["maxPayload"], boot_b["reconnectTimeout"]) == (8192, 7)


def test_each_app_enforces_its_own_payload_limit(server: Server) -> None:
    text = "x" * 2000  # over A's 1K, under B's 8K
    _, boot_b = _boot(server, "/b")
    b = Client(server.url, boot_b)
    try:
        b.send("app:echo", {"text": text})
        got, _ = b.recv_until("app:echo")
        assert got["data"] == {"app": "B", "size": 2000}
    finally:
        b.close()
    _, boot_a = _boot(server, "/a")
    a = Client(server.url, boot_a)
    a.send("app:echo", {"text": text})
    assert a.close_code() == 1009
    small = Client(server.url, boot_a)
    try:
        small.send("app:echo", {"text": "hi"})
        got, _ = small.recv_until("app:echo")
        assert got["data"] == {"app": "A", "size": 2}
    finally:
        small.close()


def test_one_apps_token_opens_nothing_in_the_other(server: Server) -> None:
    _, boot_a = _boot(server, "/a")
    _, boot_b = _boot(server, "/b")
    assert Client(server.url, boot_b, token=boot_a["token"]).close_code() == 4001
    post = httpx.post(
        f"{server.url}/a/events/board",
        content=b'{"type":"app:echo","data":{},"id":1}',
        headers={"X-PyWry-Token": boot_b["token"], "X-PyWry-Client": "c1"},
    )
    assert post.status_code == 401
    assert httpx.get(f"{server.url}/a/widget/nothing").status_code == 404
    assert httpx.get(f"{server.url}/").text == "host"
