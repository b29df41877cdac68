"""SIGTERM drains a worker, and /ready says when a worker should not get traffic.

Real deploy() processes on their own ports sharing one real Redis: the drained worker answers
503 to new requests (its liveness stays 200), closes its sockets with 1012, lets the callback in
flight finish and store its answer, and exits; the page goes on with another worker.
"""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.integration.sseclient import StreamClient
from tests.integration.wsclient import Client, page_bootstrap
from tests.redis_server import RedisServer
from tests.support import ROOT, Server, clean_env, free_port, poll, run_server

pytestmark = pytest.mark.integration
APP = ROOT / "tests" / "apps" / "ops_app.py"


def ops_env(redis_url: str, runs_key: str, **extra: str) -> dict[str, str]:
    return {
        "PYWRY_DEPLOY__STATE_BACKEND": "redis",
        "PYWRY_DEPLOY__REDIS_URL": redis_url,
        "PYWRY_DEPLOY__REDIS_PREFIX": "t" + uuid.uuid4().hex[:8],
        "PYWRY_SERVER__ACCESS_LOG": "false",
        "PYWRY_SERVER__TIMEOUT_GRACEFUL_SHUTDOWN": "10",
        "OPS_RUNS_KEY": runs_key,
        **extra,
    }


def start(stack: ExitStack, env: dict[str, str], name: str, folder) -> Server:
    port = free_port()
    full = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        TEST_WORKER_NAME=name,
        **env,
    )
    return stack.enter_context(run_server([sys.executable, str(APP)], full, port, folder))


def until(client: Client, kind: str, timeout: float = 10) -> dict:
    msg, _ = client.recv_until(kind, timeout)
    return msg


def test_sigterm_drains_the_worker_and_its_page_goes_on_elsewhere(redis_server, tmp_path) -> None:
    runs = "runs-" + uuid.uuid4().hex[:8]
    store = redis_server.client()
    env = ops_env(redis_server.url, runs)
    with ExitStack() as stack:
        w1, w2 = start(stack, env, "w1", tmp_path), start(stack, env, "w2", tmp_path)
        boot = page_bootstrap(w1.url + "/widget/board")
        c = Client(w1.url, boot, client="drained-page")
        stream = StreamClient(w1.url, boot, reopen=False)  # an HTTP-stream page on w1 as well
        ident = c.send("app:n", {"n": 1, "delay": 3.0})  # in flight when SIGTERM comes
        poll(lambda: store.hget(f"{runs}:started", "drained-page:1") == b"w1")
        w1.proc.send_signal(signal.SIGTERM)
        ack, _ = c.recv_until("pywry:ack")  # what was queued goes out first
        assert ack["data"]["id"] == ident
        assert c.close_code(timeout=5) == 1012  # then: reconnect elsewhere
        w1.proc.send_signal(signal.SIGTERM)  # a service manager's own SIGTERM changes nothing
        stream._thread.join(5)  # the event stream ends too (the bridge reopens it elsewhere)
        assert stream.stream_ends and not stream._thread.is_alive()
        # while the callback still runs, w1 takes nothing new but says it is alive
        ready = httpx.get(w1.url + "/ready")
        assert ready.status_code == 503 and ready.json()["error"] == "draining"
        assert httpx.get(w1.url + "/health").status_code == 200
        page = httpx.get(w1.url + "/widget/board")
        assert page.status_code == 503 and page.headers["retry-after"] == "1"
        assert httpx.get(w1.url + "/anything-of-the-host").status_code == 503
        late = Client(w1.url, boot, client="late-page")
        assert late.close_code(timeout=5) == 1012
        assert not store.hexists(runs, "drained-page:1")  # still running
        stream.close()
        w1.proc.wait(15)  # it exits by itself once the callback is done
        assert store.hget(runs, "drained-page:1") == b"1"
        # the page reconnects to w2 and gets the answer the drained worker stored on its way out
        again = Client(w2.url, boot, client="drained-page", next_id=ident + 1)
        done = until(again, "app:done")
        assert done["data"] == {"n": 1, "worker": "w1"}
        again.send("app:n", {"n": 2})
        assert until(again, "app:done")["data"] == {"n": 2, "worker": "w2"}
        assert store.hgetall(runs) == {b"drained-page:1": b"1", b"drained-page:2": b"1"}
        again.close()


@pytest.fixture
def own_redis(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-ready")).start()
    yield server
    server.stop()


def wait_status(url: str, status: int) -> httpx.Response:
    """Poll `url` (bounded) until it answers `status`."""
    answers: list[httpx.Response] = []
    poll(lambda: answers.append(httpx.get(url)) or answers[-1].status_code == status, 15)
    return answers[-1]


def test_ready_is_503_while_redis_is_unreachable_and_health_stays_200(own_redis, tmp_path) -> None:
    env = ops_env(own_redis.url, "")
    with ExitStack() as stack:
        w = start(stack, env, "w", tmp_path)
        assert httpx.get(w.url + "/ready").json() == {"status": "ready"}
        own_redis.stop()
        res = wait_status(w.url + "/ready", 503)
        assert res.json()["error"] == "backend-unavailable"
        assert httpx.get(w.url + "/health").status_code == 200
        own_redis.start()
        wait_status(w.url + "/ready", 200)


def test_metrics_are_off_by_default(redis_server, tmp_path) -> None:
    with ExitStack() as stack:
        w = start(stack, ops_env(redis_server.url, ""), "w", tmp_path)
        assert httpx.get(w.url + "/metrics").status_code == 404


def test_sigterm_to_deploy_with_two_workers_drains_each(redis_server, tmp_path) -> None:
    """SIGTERM to deploy()'s own process (what systemd or docker stop send): uvicorn's
    supervisor passes it to every worker, and each drains before it exits."""
    runs = "runs-" + uuid.uuid4().hex[:8]
    store = redis_server.client()
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="2",
        **ops_env(redis_server.url, runs),
    )
    with run_server([sys.executable, str(APP)], env, port, tmp_path) as server:
        c = Client(server.url, page_bootstrap(server.url + "/widget/board"), client="p")
        ident = c.send("app:n", {"n": 1, "delay": 2.0})
        poll(lambda: store.hexists(f"{runs}:started", "p:1"))
        server.proc.send_signal(signal.SIGTERM)
        assert c.recv_until("pywry:ack")[0]["data"]["id"] == ident
        assert c.close_code(timeout=5) == 1012
        server.proc.wait(15)
        assert store.hget(runs, "p:1") == b"1"
