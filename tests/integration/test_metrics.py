"""`/metrics`: deploy() with two workers on a real Redis; whichever worker answers shows the sums.

Connections are opened until both worker processes hold some (read from /proc), traffic goes
through both, and each scrape is made on a connection whose accepting worker is known, until
both have answered with the same deployment-wide numbers.
"""

from __future__ import annotations

import socket
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.wsclient import Client, page_bootstrap
from tests.support import ROOT, Server, clean_env, connection_holder, free_port, run_server

pytestmark = pytest.mark.integration
APP = ROOT / "tests" / "apps" / "ops_app.py"
TOKEN = "scrape-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def deployment(redis_server, tmp_path_factory) -> Iterator[Server]:
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="2",
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_SERVER__METRICS="true",
        PYWRY_SERVER__METRICS_TOKEN=TOKEN,
        PYWRY_SERVER__OUTBOX_SIZE="5",
        PYWRY_DEPLOY__STATE_BACKEND="redis",
        PYWRY_DEPLOY__REDIS_URL=redis_server.url,
        PYWRY_DEPLOY__REDIS_PREFIX="m" + uuid.uuid4().hex[:8],
    )
    folder = tmp_path_factory.mktemp("metrics")
    with run_server([sys.executable, str(APP)], env, port, folder, ready_path="/ready") as srv:
        yield srv


def worker_of(c: Client, server: Server) -> int | None:
    return connection_holder(server.port, c.ws.socket.getsockname()[1])


def scrape(server: Server) -> tuple[int | None, dict[tuple[str, tuple], float]]:
    """GET /metrics on a fresh connection: (pid of the worker that answered, samples)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(
            b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += s.recv(65536)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"content-type: text/plain; version=0.0.4" in head.lower()
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += s.recv(65536)
        pid = connection_holder(server.port, s.getsockname()[1])  # still open: who holds it
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    return pid, samples


def test_metrics_need_their_bearer_token(deployment: Server) -> None:
    assert httpx.get(deployment.url + "/metrics").status_code == 401
    wrong = {"Authorization": "Bearer not-" + TOKEN}
    assert httpx.get(deployment.url + "/metrics", headers=wrong).status_code == 401


def test_every_worker_answers_with_the_sums_of_both(deployment: Server) -> None:
    url = deployment.url
    boot = page_bootstrap(url + "/widget/board")
    clients: list[Client] = []
    pids: set[int | None] = set()
    for _ in range(40):  # new connections until both workers hold some
        c = Client(url, boot)
        clients.append(c)
        pids.add(worker_of(c, deployment))
        if len(pids - {None}) == 2 and len(clients) >= 4:
            break
    assert len(pids - {None}) == 2, "the kernel gave every connection to one worker"
    try:
        for i, c in enumerate(clients):  # one event on each: both workers handle some
            c.send("app:n", {"n": i})
            c.recv_until("app:done", 10)
        first = clients[0]
        first.send("app:fail")
        first.recv_until("pywry:error", 10)
        first.send("app:burst", {"count": 2})
        for _ in range(2):
            note, _ = first.recv_until("app:note", 10)
        head = note["seq"]
        behind = Client(url, boot, after=head - 2)  # a reconnect that missed two: replayed
        assert [behind.recv_until("app:note")[0]["seq"] for _ in range(2)] == [head - 1, head]
        for _ in range(2):  # eight more: more than the outbox keeps (5), in steps it can follow
            first.send("app:burst", {"count": 4})
            for _ in range(4):
                first.recv_until("app:note", 10)
        gone = Client(url, boot, after=head - 2)  # its history is gone: resynchronised
        gone.recv_until("pywry:resync", 10)
        clients += [behind, gone]

        events = len(clients) - 2 + 4  # one app:n per first client, app:fail, three bursts
        expected = {
            ("pywry_connections", (("transport", "websocket"),)): len(clients),
            ("pywry_connections", (("transport", "sse"),)): 0,
            ("pywry_widgets", ()): 2,  # the module-level board, on each of the two workers
            ("pywry_events_total", ()): events,
            ("pywry_emits_total", ()): len(clients) - 2 + 10,  # one answer each, ten notes
            ("pywry_callback_errors_total", ()): 1,
            ("pywry_replays_total", ()): 1,
            ("pywry_resyncs_total", ()): 1,
            ("pywry_callback_duration_seconds_count", ()): events,
        }
        answered: dict[int | None, dict] = {}
        for _ in range(100):  # bounded: scrape until both workers have answered the sums
            pid, samples = scrape(deployment)
            got = {key: samples.get(key) for key in expected}
            if got == expected:
                answered[pid] = got
            if len(set(answered) - {None}) == 2:
                break
            time.sleep(0.05)  # the widget gauge is refreshed about once a second
        assert len(set(answered) - {None}) == 2, (answered, got, expected)
    finally:
        for c in clients:
            c.close()
