"""A table's replies reach the tab that asked, and nobody else: counted on a real server.

The app is `bench/servers/table_app.py` with 20,000 rows. Page A turns pages and exports; B (a
second visitor) and A2 (a second tab of A's session) stay idle. A barrier note, emitted from
outside any callback (`POST /announce`), reaches every page; what an idle page read before it
is everything it was sent. Run on one process and on two workers sharing redis or sqlite, with
A on the first worker and B and A2 on the second.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tests.integration.test_multiworker import backend_env
from tests.integration.wsclient import Client, page_bootstrap
from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration
APP = ROOT / "bench" / "servers" / "table_app.py"
ROWS = 20_000
PAGE_SIZE = 100
NOTE_BYTES = 200  # more than one barrier note's frame, far less than one page of rows


@pytest.fixture(scope="module", params=["memory", "redis", "sqlite"])
def workers(request, tmp_path_factory) -> Iterator[tuple[Server, Server]]:
    """Two places to connect: one process twice (memory), or two workers on a shared backend."""
    folder = tmp_path_factory.mktemp(f"table-{request.param}")
    env = {"TABLE_ROWS": str(ROWS), "PYWRY_SERVER__ACCESS_LOG": "false"}
    count = 1
    if request.param != "memory":
        redis = request.getfixturevalue("redis_server") if request.param == "redis" else None
        env.update(backend_env(request.param, redis, folder))
        count = 2
    with ExitStack() as stack:
        servers = []
        for _ in range(count):
            port = free_port()
            full = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port), **env)
            servers.append(
                stack.enter_context(run_server([sys.executable, str(APP)], full, port, folder))
            )
        yield servers[0], servers[-1]


def until(client: Client, wanted: Any, what: str) -> tuple[dict, list[dict]]:
    """Read until a message `wanted` accepts; it and everything read before it (bounded)."""
    seen = []
    for _ in range(500):
        msg = client.recv(timeout=10)
        if wanted(msg):
            return msg, seen
        seen.append(msg)
    raise AssertionError(f"page {client.label} never got {what}")


def barrier(server: Server, tag: str, *clients: Client) -> list[list[dict]]:
    """Announce `tag` to every page; what each client read before the note."""
    res = httpx.post(server.url + "/announce", json={"tag": tag}, timeout=10)
    assert res.status_code == 200, res.text

    def is_note(m: dict) -> bool:
        return m["type"] == "app:note" and m["data"]["tag"] == tag

    return [until(c, is_note, f"the {tag!r} note")[1] for c in clients]


def types(messages: list[dict]) -> list[str]:
    return [m["type"] for m in messages]


def test_page_turns_and_export_reach_only_the_asking_tab(workers: tuple[Server, Server]) -> None:
    w1, w2 = workers
    boot_a = page_bootstrap(w1.url + "/widget/trades")
    boot_b = page_bootstrap(w2.url + "/widget/trades")
    assert boot_a["cookie"] != boot_b["cookie"], "two page loads should be two visitors"
    a = Client(w1.url, boot_a)
    b = Client(w2.url, boot_b)
    a2 = Client(w2.url, boot_a)  # A's cookie, another tab (its own client id), other worker
    try:
        barrier(w1, "start", a, b, a2)  # what connecting sent is not A's activity
        b_start, a2_start = b.received_bytes, a2.received_bytes
        replies = []
        for n in range(2, 7):
            request = {"requestId": n, "page": n, "pageSize": PAGE_SIZE, "sort": [], "filter": ""}
            a.send("grid:request-page", request)
            got, _ = until(
                a,
                lambda m, n=n: m["type"] == "grid:page" and m["data"]["requestId"] == n,
                f"the answer for page {n}",
            )
            assert got["data"]["page"] == n and got["data"]["total"] == ROWS
            assert got["data"]["index"][0] == (n - 1) * PAGE_SIZE  # the rows of page n
            replies.append(got)
        a.send("grid:export", {"sort": [], "filter": ""})
        download, _ = until(a, lambda m: m["type"] == "pywry:download", "its download")
        content = download["data"]["content"]
        assert download["data"]["filename"] == "trades.csv"
        assert content.startswith("id,name,score,group\n") and content.count("\n") == ROWS + 1
        replies.append(download)
        after_a, after_b, after_a2 = barrier(w2, "done", a, b, a2)
        assert types(after_a) == [], "A received something twice"
        assert types(after_b) == [], "the other visitor received A's replies"
        assert types(after_a2) == [], "A's other tab received replies meant for the asking tab"
        for name, got_bytes in (
            ("the other visitor", b.received_bytes - b_start),
            ("A's other tab", a2.received_bytes - a2_start),
        ):
            assert got_bytes < NOTE_BYTES, (
                f"{name} received {got_bytes:,} bytes while A exported {len(content):,}"
            )
        # every reply came on A's own ordered stream, one after the other
        assert not [m for m in replies if "seq" in m], "a reply was put on the widget's stream"
        first = replies[0].get("cseq")
        assert isinstance(first, int), f"the first reply is not on A's own stream: {replies[0]}"
        assert [m.get("cseq") for m in replies] == list(range(first, first + len(replies)))
    finally:
        for c in (a, b, a2):
            c.close()


EXPORTS = 3  # exports a minute one page may ask for (the address: four times that)


@pytest.fixture(scope="module")
def limited_table(tmp_path_factory) -> Iterator[Server]:
    """One process, a small table, few exports a minute."""
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_SERVER__MAX_EXPORTS_PER_MINUTE=str(EXPORTS),
        TABLE_ROWS="2000",
    )
    folder = tmp_path_factory.mktemp("table-limited")
    with run_server([sys.executable, str(APP)], env, port, folder) as srv:
        yield srv


def export(client: Client, n: int) -> dict:
    """Ask for an export; its download or its refusal."""
    client.send("grid:export", {"requestId": n, "sort": [], "filter": ""})
    got, _ = until(
        client,
        lambda m: m["type"] in ("pywry:download", "grid:export-error"),
        f"the answer to export {n}",
    )
    return got


def test_exports_are_limited_per_page_and_fresh_pages_do_not_multiply_them(
    limited_table: Server,
) -> None:
    boot = page_bootstrap(limited_table.url + "/widget/trades")
    a = Client(limited_table.url, boot)
    try:
        answers = [export(a, n) for n in range(EXPORTS + 1)]
        assert [m["type"] for m in answers[:EXPORTS]] == ["pywry:download"] * EXPORTS
        refusal = answers[-1]
        assert refusal["type"] == "grid:export-error" and refusal["data"]["requestId"] == EXPORTS
        assert "exports a minute" in refusal["data"]["error"]
        assert refusal["data"]["retryAfter"] >= 1
    finally:
        a.close()
    # new pages (fresh client ids) from the same address share the address's 4 x 3
    downloads = EXPORTS
    for _ in range(4):
        fresh = Client(limited_table.url, boot)
        try:
            got = [export(fresh, n) for n in range(EXPORTS)]
            downloads += sum(m["type"] == "pywry:download" for m in got)
        finally:
            fresh.close()
    assert downloads == 4 * EXPORTS
