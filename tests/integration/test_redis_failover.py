"""A master failover while pages send events through two deploy() workers on replicated Redis.

Sentinel: the master is killed (SIGKILL) and the Sentinels promote its replica. Cluster: the
replica of the master that holds the widget's slot (and the subscriptions') takes over with
CLUSTER FAILOVER. Either way every acknowledged event's callback ran exactly once, and every
page received every answer once, in one order that all pages agree on.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.integration.traffic import Page, Traffic, tally
from tests.integration.wsclient import page_bootstrap
from tests.redis_groups import wait_for
from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration
APP = ROOT / "tests" / "apps" / "counting_app.py"
PAGES = 6
EVENTS = 150  # per page
RATE = 50.0  # events per second per page: the failover lands in the middle of the traffic


def deploy_app(stack: ExitStack, folder: Path, env: dict[str, str]) -> Server:
    """The counting app under deploy() with two uvicorn workers on one port."""
    port = free_port()
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    full = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="2",
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_DEPLOY__STATE_BACKEND="redis",
        TEST_RUNS_DIR=str(folder / "runs"),
        **env,
    )
    server = stack.enter_context(run_server([sys.executable, str(APP)], full, port, folder))
    wait_for("both workers to start", lambda: server.log().count("startup complete") == 2)
    return server


def run_traffic(server: Server, folder: Path, fail_over: Callable[[], Any]) -> None:
    """Pages send while `fail_over` runs a third of the way in; then everything is counted."""
    traffic = Traffic()
    deadline = time.monotonic() + 50
    pages = [
        Page(
            server.url,
            page_bootstrap(server.url + "/widget/board"),
            f"page{i}",
            traffic,
            events=EVENTS,
            rate=RATE,
            deadline=deadline,
        )
        for i in range(PAGES)
    ]
    for page in pages:
        page.start()
    while len(traffic.expected()) < PAGES * EVENTS // 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # polls the acknowledgements the pages collect
    failed_over_at = len(traffic.expected())
    fail_over()
    for page in pages:
        page.join(max(0.0, deadline - time.monotonic()) + 5)
    result = tally(pages, traffic, folder / "runs")
    print(f"\n{folder.name}: failover after {failed_over_at} acks; {result.line()}")
    assert [p.failure for p in pages if p.failure] == []
    assert not [p.name for p in pages if p.is_alive()], "a page did not finish in time"
    assert result.sent == result.acked == PAGES * EVENTS, result.line()
    assert result.acked_not_run == 0 and result.duplicated == 0, result.line()
    assert result.lost == 0 and result.out_of_order == 0 and result.resyncs == 0, result.line()
    assert result.received == PAGES * PAGES * EVENTS
    assert result.errors == []
    assert result.reconnects > 0, "the failover should have been felt"
    assert len(traffic.holders) == 2, "both workers should have served sockets"
    log = server.log()
    assert "Traceback" not in log, log[-4000:]


@pytest.mark.parametrize("fault", ["kill_master", "switch_over"])
def test_sentinel_failover_during_traffic(redis_sentinel, tmp_path: Path, fault: str) -> None:
    """The master SIGKILLed, or SENTINEL FAILOVER (which leaves the old master writable until
    the Sentinels demote it; with `min-replicas-to-write` it refuses writes instead): the
    workers follow to the new master."""
    folder = tmp_path / fault
    env = {
        "PYWRY_DEPLOY__REDIS_URL": redis_sentinel.url,
        "PYWRY_DEPLOY__REDIS_PREFIX": "t" + uuid.uuid4().hex[:8],
    }
    with ExitStack() as stack:
        server = deploy_app(stack, folder, env)
        before = redis_sentinel.master_port()
        run_traffic(server, folder, getattr(redis_sentinel, fault))
        assert redis_sentinel.master_port() != before


def prefix_on(group: Any, port: int) -> str:
    """A key prefix whose pub/sub channel hashes to the master on `port`."""
    client = group.client()
    try:
        for _ in range(1000):
            prefix = "t" + uuid.uuid4().hex[:8]
            if client.get_node_from_key(f"{prefix}:bus").port == port:
                return prefix
    finally:
        client.close()
    raise AssertionError("no prefix found")


def test_cluster_failover_during_traffic(redis_cluster, tmp_path: Path) -> None:
    folder = tmp_path / "cluster"
    master = redis_cluster.master_of("{board}")
    env = {
        "PYWRY_DEPLOY__REDIS_URL": redis_cluster.url,
        "PYWRY_DEPLOY__REDIS_CLUSTER": "true",
        "PYWRY_DEPLOY__REDIS_PREFIX": prefix_on(redis_cluster, master),
    }
    with ExitStack() as stack:
        server = deploy_app(stack, folder, env)
        run_traffic(server, folder, lambda: redis_cluster.fail_over(master))
        assert redis_cluster.master_of("{board}") != master
