"""Logs of real servers: pywry's loggers at LOG_LEVEL beside uvicorn's, JSON lines, refusals.

Every refusal (bad token, foreign origin, foreign host, rate limit) is logged at most once per
client and reason a minute, with the widget and the client address, and never with a token.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from pywry import PyWry
from tests.integration.wsclient import Client, page_bootstrap
from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration
APP = ROOT / "tests" / "apps" / "ops_app.py"
WRONG = "wrong-token-" + "x" * 30


def serve(tmp_path, **env: str):
    port = free_port()
    full = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__MAX_EVENTS_PER_SECOND="2",
        **env,
    )
    return run_server([sys.executable, str(APP)], full, port, tmp_path)


def refuse_everything(server: Server) -> dict:
    """Five bad tokens, three foreign origins (sockets), a post flood; returns the bootstrap."""
    boot = page_bootstrap(server.url + "/widget/board")
    for _ in range(5):
        assert Client(server.url, boot, token=WRONG).close_code() == 4001
    for _ in range(3):
        assert Client(server.url, boot, origin="https://evil.example").close_code() == 4003
    headers = {"X-PyWry-Token": boot["token"], "X-PyWry-Client": "flooder"}
    body = json.dumps({"type": "app:n", "data": {"n": 0}, "id": 1})
    codes = [
        httpx.post(server.url + "/events/board", content=body, headers=headers).status_code
        for _ in range(10)
    ]
    assert 429 in codes
    bad = {"X-PyWry-Token": WRONG, "X-PyWry-Client": "flooder"}  # same client, same reason
    assert httpx.post(server.url + "/events/board", content=body, headers=bad).status_code == 401
    return boot


def wait_for(server: Server, found: Callable[[str], bool]) -> str:
    """The server's log once `found(log)` holds (bounded)."""
    deadline = time.monotonic() + 10
    while not found(server.log()):
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.05)
    return server.log()


def test_json_lines_at_info_with_one_line_per_refused_client(tmp_path) -> None:
    with serve(tmp_path, PYWRY_SERVER__LOG_FORMAT="json", PYWRY_SERVER__LOG_LEVEL="info") as srv:
        boot = refuse_everything(srv)
        c = Client(srv.url, boot)
        c.ws.send("this is not JSON")  # pywry.peer logs it at info
        assert c.recv_until("pywry:error")[0]["data"]["code"] == "bad-message"
        c.close()
        text = wait_for(srv, lambda log: "bad frame" in log and '"policy"' in log)
    records = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line
    refused = [r for r in records if r["logger"] == "pywry.refused"]
    assert sorted(r["refusal"] for r in refused) == ["bad-token", "origin-not-allowed", "policy"]
    for r in refused:
        assert r["level"] == "WARNING" and r["widget"] == "board" and r["client"] == "127.0.0.1"
    assert [r["level"] for r in records if r["logger"] == "pywry.peer"] == ["INFO"]
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert access and {"client", "method", "path", "status"} <= set(access[0])
    assert boot["token"] not in text and WRONG not in text


def test_text_lines_at_warning_leave_out_pywry_info(tmp_path) -> None:
    with serve(tmp_path, PYWRY_SERVER__LOG_LEVEL="warning") as srv:
        boot = refuse_everything(srv)
        c = Client(srv.url, boot)
        c.ws.send("this is not JSON")
        c.recv_until("pywry:error")
        c.close()
        text = wait_for(srv, lambda log: "refused policy" in log)
    lines = [line for line in text.splitlines() if "refused " in line]
    assert len(lines) == 3, lines
    assert "WARNING:  refused bad-token for widget 'board' from 127.0.0.1" in lines[0]
    assert "bad frame" not in text and boot["token"] not in text and WRONG not in text


def test_a_foreign_host_is_logged_once_per_client(caplog: pytest.LogCaptureFixture) -> None:
    app = PyWry(port=0, open_browser=False)
    try:
        handle = app.show("<p>guarded</p>", label="guarded")
        with caplog.at_level(logging.WARNING, logger="pywry.refused"):
            for _ in range(3):
                res = httpx.get(handle.url, headers={"Host": f"evil.example:{app.port}"})
                assert res.status_code == 400
        refused = [r for r in caplog.records if r.name == "pywry.refused"]
        assert [(r.refusal, r.client) for r in refused] == [("bad-host", "127.0.0.1")]  # type: ignore[attr-defined]
    finally:
        app.destroy()
