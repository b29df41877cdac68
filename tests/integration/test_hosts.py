"""One app on three "hosts" (deploy() bound to 127.0.0.1, .2 and .3, two workers each) sharing
one Redis Cluster, with no stickiness anywhere: a page from one host, its socket on another, its
events posted to a third, and every emit reaching every page on every host."""

from __future__ import annotations

import json
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tests.integration.test_multiworker import APP, until
from tests.integration.wsclient import Client, page_bootstrap, visit
from tests.support import Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


def port_free_on_every_host() -> int:
    """A port nothing listens on at any of HOSTS: each host runs the app on the same port."""
    for _ in range(50):
        port = free_port()
        try:
            for host in HOSTS[1:]:
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise AssertionError("no port free on every host")


@pytest.fixture(scope="module")
def hosts(redis_cluster, tmp_path_factory) -> Iterator[list[Server]]:
    folder = tmp_path_factory.mktemp("hosts")
    port = port_free_on_every_host()
    prefix = "t" + uuid.uuid4().hex[:8]
    with ExitStack() as stack:
        servers = []
        for i, host in enumerate(HOSTS):
            env = clean_env(
                PYWRY_SERVER__HOST=host,
                PYWRY_SERVER__PORT=str(port),
                PYWRY_SERVER__WORKERS="2",
                PYWRY_SERVER__ACCESS_LOG="false",
                PYWRY_DEPLOY__STATE_BACKEND="redis",
                PYWRY_DEPLOY__REDIS_URL=redis_cluster.url,
                PYWRY_DEPLOY__REDIS_CLUSTER="true",
                PYWRY_DEPLOY__REDIS_PREFIX=prefix,
                TEST_WORKER_NAME=f"host{i + 1}",
            )
            argv = [sys.executable, str(APP)]
            servers.append(stack.enter_context(run_server(argv, env, port, folder, host=host)))
        yield servers


def post(server: Server, boot: dict[str, Any], client: str, kind: str, ident: int, data: Any):
    """POST one event the way a page on the HTTP transport does; returns the answer."""
    headers = {"Content-Type": "application/json", "X-PyWry-Token": boot["token"]}
    headers["X-PyWry-Client"] = client
    if boot.get("cookie"):
        headers["Cookie"] = boot["cookie"]
    body = json.dumps({"type": kind, "data": data, "id": ident, "widgetId": boot["label"]})
    res = httpx.post(server.url + boot["events"], content=body, headers=headers, timeout=10)
    assert res.status_code == 200, (res.status_code, res.text)
    return res.json()


def test_page_socket_and_posts_on_three_hosts(hosts: list[Server]) -> None:
    one, two, three = hosts
    boot = page_bootstrap(one.url + "/widget/board")  # the page comes from host 1
    assert {page_bootstrap(h.url + "/widget/board")["token"] for h in hosts} == {boot["token"]}
    traveller = Client(two.url, boot, client="traveller")  # its socket goes to host 2
    others = [Client(h.url, page_bootstrap(h.url + "/widget/board")) for h in hosts]
    try:
        answer = post(three, boot, "traveller", "app:click", 1, {"n": 7})  # posted to host 3
        assert answer["acks"] == [1]
        got = [until(c, "app:answer", lambda m: m["data"]["n"] == 7)[0] for c in others]
        mine, _ = until(traveller, "app:answer", lambda m: m["data"]["n"] == 7)
        assert {m["data"]["worker"] for m in [*got, mine]} == {"host3"}
        assert len({m["seq"] for m in [*got, mine]}) == 1, "one message, one seq everywhere"
        # a reply to an event posted to host 3 reaches the page's own socket on host 2
        post(three, boot, "traveller", "app:remember", 2, {"region": "west"})
        reply, _ = until(traveller, "app:remembered")
        assert reply["data"] == {"worker": "host3"} and "cseq" in reply
        # the session value set on host 3 is read on host 1
        post(one, boot, "traveller", "app:recall", 3, {})
        recalled, _ = until(traveller, "app:recalled")
        assert recalled["data"] == {"region": "west", "worker": "host1"}
        # a resent event (its answer lost on the way) is run once, whichever host gets it
        assert post(two, boot, "traveller", "app:click", 1, {"n": 7})["acks"] == [1]
        post(one, boot, "traveller", "app:burst", 4, {"count": 1, "tag": "end"})
        _, before = until(traveller, "app:note", lambda m: m["data"]["tag"] == "end")
        assert not [m for m in before if m["type"] == "app:answer"], "an event ran twice"
    finally:
        traveller.close()
        for c in others:
            c.close()


def test_visitor_widget_events_reach_their_owner_host(hosts: list[Server]) -> None:
    """A per-visitor widget lives on the host that made it; its socket on another host and its
    posts to a third are routed there through the cluster."""
    one, two, three = hosts
    boot = visit(httpx.get(one.url + "/visit", timeout=10))
    sock = Client(two.url, boot, client="visitor")
    try:
        answer = post(three, boot, "visitor", "app:hello", 1, {"n": 5})
        assert answer["acks"] == [1]
        got, _ = until(sock, "app:visitor-answer")
        assert got["data"] == {"worker": "host1", "n": 5}
    finally:
        sock.close()
