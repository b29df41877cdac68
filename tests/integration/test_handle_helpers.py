"""Every handle helper, called in a callback, reaches the page that sent the event only."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.wsclient import Client, bootstrap
from tests.support import Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration

CASES: list[tuple[str, list[Any], dict[str, Any], str, dict[str, Any]]] = [
    ("emit", ["app:hello", {"x": 1}], {}, "app:hello", {"x": 1}),
    ("update", ["<p>mine</p>"], {}, "pywry:update-html", {}),
    ("alert", ["Saved"], {"type": "success", "duration": 0}, "pywry:alert",
     {"message": "Saved", "type": "success", "duration": 0}),
    ("download", ["a.csv", "q,v\n1,2"], {}, "pywry:download",
     {"filename": "a.csv", "mimeType": "application/octet-stream", "content": "q,v\n1,2"}),
    ("set_content", ["<b>x</b>", "#slot"], {}, "pywry:set-content",
     {"html": "<b>x</b>", "selector": "#slot"}),
    ("navigate", ["https://example.com/next"], {}, "pywry:navigate",
     {"url": "https://example.com/next", "newTab": False}),
    ("inject_css", ["p{color:red}", "mine"], {}, "pywry:inject-css",
     {"id": "mine", "css": "p{color:red}"}),
    ("remove_css", ["mine"], {}, "pywry:remove-css", {"id": "mine"}),
    ("set_style", ["p"], {"color": "red"}, "pywry:set-style",
     {"selector": "p", "styles": {"color": "red"}}),
    ("update_theme", ["light"], {}, "pywry:update-theme", {"theme": "light"}),
    ("refresh", [], {}, "pywry:refresh", {}),
    ("set_toolbar_value", ["region", "north"], {}, "toolbar:set-value",
     {"componentId": "region", "value": "north"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.apps.helpers_app:app", "--port", str(port)]
    argv += ["--host", "127.0.0.1", "--log-level", "warning"]
    logs: Path = tmp_path_factory.mktemp("helpers")
    with run_server(argv, clean_env(), port, logs, ready_path="/health") as srv:
        yield srv


def _boot(server: Server) -> dict[str, Any]:
    return bootstrap(httpx.get(f"{server.url}/widget/helpers").text)


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "kind", "data"), CASES, ids=[c[0] for c in CASES]
)
def test_a_helper_in_a_callback_reaches_the_sender_and_no_one_else(
    server: Server, name: str, args: list[Any], kwargs: dict[str, Any], kind: str, data: dict
) -> None:
    boot = _boot(server)
    sender, other = Client(server.url, boot), Client(server.url, boot)
    try:
        sender.send("app:call", {"name": name, "args": args, "kwargs": kwargs})
        got, _ = sender.recv_until(kind)
        assert "cseq" in got and "seq" not in got
        if name == "update":  # the page's content, inside the widget's toolbar layout
            assert "<p>mine</p>" in got["data"]["html"] and "pywry-layout" in got["data"]["html"]
        else:
            assert got["data"] == data
        sender.send("app:mark", {"n": name})
        marker, before = other.recv_until("app:marker")
        assert marker["data"] == {"n": name}
        assert [m["type"] for m in before if m["type"] != "pywry:ack"] == []
    finally:
        sender.close()
        other.close()
    # what one page was sent is not what later visitors get
    page = httpx.get(f"{server.url}/widget/helpers").text
    assert "<p>helpers</p>" in page and '"theme":null' in page  # still none chosen


def test_bytes_travel_as_base64_to_the_sender(server: Server) -> None:
    sender = Client(server.url, _boot(server))
    try:
        raw = base64.b64encode(b"\x00\x01binary").decode()
        sender.send("app:call", {"name": "download", "args": ["b.bin", raw], "bytes": True})
        got, _ = sender.recv_until("pywry:download")
        assert got["data"]["encoding"] == "base64" and got["data"]["content"] == raw
    finally:
        sender.close()


def test_to_all_changes_the_widget_for_later_visitors(server: Server) -> None:
    boot = _boot(server)
    sender, other = Client(server.url, boot), Client(server.url, boot)
    try:
        sender.send(
            "app:call", {"name": "update", "args": ["<p>shared</p>"], "kwargs": {"to": "all"}}
        )
        mine, _ = sender.recv_until("pywry:update-html")
        theirs, _ = other.recv_until("pywry:update-html")
        assert mine == theirs and "seq" in mine
        assert "<p>shared</p>" in httpx.get(f"{server.url}/widget/helpers").text
        sender.send(
            "app:call", {"name": "update", "args": ["<p>helpers</p>"], "kwargs": {"to": "all"}}
        )
        sender.recv_until("pywry:update-html")
    finally:
        sender.close()
        other.close()


CHART_CASES = [
    ("update_figure", [{"data": [{"type": "bar", "x": ["a", "b"], "y": [7, 9]}]}], {},
     "plotly:update-figure"),
    ("update_layout", [], {"title": "mine"}, "plotly:update-layout"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "kwargs", "kind"), CHART_CASES, ids=["figure", "layout"])
def test_a_chart_helper_in_a_callback_changes_the_senders_chart_only(
    server: Server, name: str, args: list[Any], kwargs: dict[str, Any], kind: str
) -> None:
    url = f"{server.url}/widget/helpers-chart"
    boot = bootstrap(httpx.get(url).text)
    sender, other = Client(server.url, boot), Client(server.url, boot)
    try:
        sender.send("app:call", {"name": name, "args": args, "kwargs": kwargs})
        got, _ = sender.recv_until(kind)
        assert "cseq" in got and "seq" not in got
        if name == "update_figure":
            assert got["data"]["figure"]["data"][0]["y"] == [7, 9]
        else:
            assert got["data"]["layout"] == {"title.text": "mine"}
        sender.send("app:mark", {"n": name})
        _, before = other.recv_until("app:marker")
        assert [m["type"] for m in before if m["type"] != "pywry:ack"] == []
    finally:
        sender.close()
        other.close()
    page = httpx.get(url).text  # what a later visitor's page starts from: the stored figure
    assert '"text":"base"' in page and '"y":[1,2]' in page and "[7,9]" not in page
