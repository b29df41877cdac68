"""Widget tokens never reach a URL: a deploy server's access log after a real page's HTTP stream,
events and disconnect holds none, and a client that puts one in a URL is refused and redacted."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support import Server, run_example

pytestmark = pytest.mark.e2e

# The proxy without WebSockets: the bridge's socket never opens, so it falls back to the stream.
NO_WEBSOCKETS = "window.WebSocket = function () { throw new Error('no WebSockets here'); };"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("tokens")
    with run_example("deploy_quickstart.py", logs, PYWRY_SERVER__ACCESS_LOG="true") as server:
        yield server


def test_stream_events_and_disconnect_leave_no_token_in_the_access_log(
    quickstart: Server, page
) -> None:
    page.add_init_script(NO_WEBSOCKETS)
    page.goto(quickstart.url + "/widget/dashboard")
    page.wait_for_function("window.pywry.transport === 'http'")
    token = page.evaluate(
        "JSON.parse(document.getElementById('pywry-bootstrap').textContent).token"
    )
    page.click("#btn")
    page.wait_for_function("document.getElementById('answer').textContent === 'clicks: 1'")
    page.goto("about:blank")  # the page leaves: its disconnect goes out with keepalive
    log = quickstart.log_with('"POST /disconnect/dashboard HTTP/1.1" 204')
    assert '"GET /sse/dashboard?client=' in log and '"POST /events/dashboard HTTP/1.1" 200' in log
    assert token not in log


def test_a_token_in_the_url_is_refused_and_never_logged(quickstart: Server) -> None:
    token = "tok" + "x" * 40  # what an old client would send; the right token is no better
    boot = httpx.get(quickstart.url + "/widget/dashboard").text
    real = boot.split('"token":"', 1)[1].split('"', 1)[0]
    for method, path in (("GET", "/sse/dashboard"), ("POST", "/disconnect/dashboard")):
        for value in (token, real):
            res = httpx.request(method, f"{quickstart.url}{path}?client=c1&token={value}")
            assert res.status_code == 401
            assert res.json()["error"] == "token-in-url"
            assert "X-PyWry-Token header" in res.json()["detail"]
    log = quickstart.log_with("POST /disconnect/dashboard?client=c1&token=[redacted]")
    assert token not in log and real not in log
