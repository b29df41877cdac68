"""A Redis that goes away and comes back: sockets told to retry, nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import ExitStack

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.test_multiworker import APP, backend_env, start_workers, until
from tests.integration.wsclient import Client, page_bootstrap
from tests.redis_server import RedisServer
from tests.support import clean_env, free_port, poll, run_server, worker_pids

pytestmark = pytest.mark.integration


def closed_with(client: Client) -> int | None:
    try:
        for _ in range(1000):
            client.ws.recv(timeout=15)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    raise AssertionError("not closed")


def test_redis_outage_and_recovery(tmp_path) -> None:
    redis_server = RedisServer(tmp_path / "redis").start()
    env = backend_env("redis", redis_server, tmp_path)
    with ExitStack() as stack:
        stack.callback(redis_server.stop)
        w1, w2 = start_workers(stack, 2, env, tmp_path)
        boot = page_bootstrap(w1.url + "/widget/board")
        c = Client(w1.url, boot, client="outagepage")
        c.send("app:click", {"n": 1})
        first, _ = until(c, "app:answer", lambda m: m["data"]["n"] == 1)
        last = first["seq"]

        redis_server.stop()
        # a worker asked for a widget it must load answers 503 without the backend's own error
        # (which names Redis's address)
        down = httpx.get(w2.url + "/widget/w-notloadedhere", timeout=10)
        assert down.status_code == 503 and down.json()["error"] == "backend-unavailable"
        assert str(redis_server.port) not in down.text and "Redis" not in down.text
        c.send("app:click", {"n": 2}, ident=2)  # cannot be acknowledged while Redis is down
        assert closed_with(c) in (1012, 1013)

        # while Redis is down new sockets are told to come back later
        refused = Client(w2.url, boot, client="outagepage", after=last, next_id=2)
        assert closed_with(refused) in (1012, 1013)

        redis_server.start()  # same port
        deadline = time.monotonic() + 20
        again = None
        while time.monotonic() < deadline:
            try:
                again = Client(w2.url, boot, client="outagepage", after=last, next_id=2)
                again.send("app:click", {"n": 2}, ident=2)  # the bridge resends unacked events
                ack, _ = until(again, "pywry:ack")
                break
            except (ConnectionClosed, InvalidStatus, TimeoutError, OSError):
                again = None
                time.sleep(0.2)
        assert again is not None, "service did not resume after Redis came back"
        assert ack["data"]["id"] == 2
        answer, before = until(again, "app:answer", lambda m: m["data"]["n"] == 2)
        assert not [m for m in before if m["type"] == "app:answer" and m["data"]["n"] == 1]
        again.send("app:burst", {"count": 1, "tag": "end"})
        _, after = until(again, "app:note", lambda m: m["data"]["tag"] == "end")
        assert not [m for m in after if m["type"] == "app:answer"], "an event ran twice"
        again.close()

        for worker in (w1, w2):
            log = worker.log()
            assert log.count("went away") == 1, log[-3000:]
            assert "Traceback" not in log, log[-3000:]
            assert "is back; service resumed" in log


def test_workers_replaced_during_an_outage_start_and_serve_once_redis_is_back(tmp_path) -> None:
    """uvicorn stops the whole deployment when a worker's start-up fails, so a worker that
    replaces one that died while Redis is down must start anyway (503 until Redis is back)."""
    redis_server = RedisServer(tmp_path / "redis").start()
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="2",
        **backend_env("redis", redis_server, tmp_path),
    )
    with ExitStack() as stack:
        stack.callback(redis_server.stop)
        server = stack.enter_context(run_server([sys.executable, str(APP)], env, port, tmp_path))
        originals = worker_pids(server)
        assert len(originals) == 2

        redis_server.stop()
        for pid in originals:  # both die, so every page afterwards is served by a replacement
            os.kill(pid, signal.SIGKILL)
        poll(lambda: server.log().count("this worker serves once it can be opened") >= 2, 30)
        assert server.proc.poll() is None, server.log()[-3000:]
        assert not set(worker_pids(server)) & set(originals)
        with httpx.Client() as fresh:
            assert fresh.get(server.url + "/health").status_code == 200
            down = fresh.get(server.url + "/widget/board")
        assert down.status_code == 503 and down.json()["error"] == "backend-unavailable"

        redis_server.start()  # same port, empty: the replacements store their widgets again
        poll(lambda: server.log().count("is open; service started") >= 2, 30)
        # Redis kept nothing, so the page loads again; both replacements agree on its token
        boot = page_bootstrap(server.url + "/widget/board")
        for n in range(6):  # fresh connections: either replacement may answer
            c = Client(server.url, boot, client=f"after{n}")
            c.send("app:click", {"n": n})
            answer, _ = until(c, "app:answer", lambda m, n=n: m["data"]["n"] == n)
            assert answer["data"]["worker"] not in ("", None)
            c.close()
        assert "Application startup failed" not in server.log()
