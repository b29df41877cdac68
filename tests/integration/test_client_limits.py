"""What one client can take from a server, on every adapter and transport (a real server each).

The hosts are those of `test_conformance` (FastAPI, Flask, aiohttp, Django under WSGI and ASGI),
started with low limits. Each test connects from loopback addresses of its own (127.0.x.y: Linux
routes all of 127/8 to the loopback interface), so per-address limits of one test never touch
another's, and a second address shows what a different client still gets.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.sseclient import StreamClient
from tests.integration.test_conformance import (
    CASES,
    FRAMEWORKS,
    IDS,
    SSE_TIMEOUT,
    WEBSOCKETS,
    launched,
    selected,
)
from tests.integration.wsclient import Client, visit
from tests.support import Server

pytestmark = pytest.mark.integration

PER_CLIENT = 20  # events per second of one connection or one posting client
PER_ADDRESS = 30  # events per second of one address
PER_TOKEN = 50  # events per second of one widget
NEW_CLIENTS = 10  # new client ids per address per minute
SLOTS, SLOTS_PER_ADDRESS = 8, 4  # connections of one widget, and of one address to it
VISITOR_WIDGETS = 5  # per-visitor widgets per address per minute
LIMITED = dict(
    PYWRY_SERVER__MAX_PAYLOAD_SIZE="64K",
    PYWRY_SERVER__SSE_TIMEOUT=str(SSE_TIMEOUT),
    PYWRY_SERVER__RECONNECT_TIMEOUT="5",
    PYWRY_SERVER__ACCESS_LOG="false",
    PYWRY_SERVER__MAX_EVENTS_PER_SECOND=str(PER_CLIENT),
    PYWRY_SERVER__MAX_EVENTS_PER_SECOND_PER_ADDRESS=str(PER_ADDRESS),
    PYWRY_SERVER__MAX_EVENTS_PER_SECOND_PER_TOKEN=str(PER_TOKEN),
    PYWRY_SERVER__MAX_NEW_CLIENTS_PER_MINUTE=str(NEW_CLIENTS),
    PYWRY_SERVER__MAX_CONNECTIONS_PER_WIDGET=str(SLOTS),
    PYWRY_SERVER__MAX_CONNECTIONS_PER_ADDRESS=str(SLOTS_PER_ADDRESS),
    PYWRY_SERVER__MAX_VISITOR_WIDGETS_PER_MINUTE=str(VISITOR_WIDGETS),
    HOST_PAYLOAD="64K",
)


@pytest.fixture(scope="module")
def limited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """The selected hosts, with the limits above."""
    names = selected(request, FRAMEWORKS) or FRAMEWORKS
    yield from launched(names, LIMITED, tmp_path_factory.mktemp("limits"))


@pytest.fixture(scope="session")
def _loopback() -> Iterator[str]:
    return (f"127.0.{n // 250}.{n % 250 + 2}" for n in itertools.count(250))


@pytest.fixture
def address(_loopback: Iterator[str]) -> Callable[[], str]:
    """A loopback address no other test has connected from."""
    return lambda: next(_loopback)


def http_from(source: str, server: Server) -> httpx.Client:
    """An HTTP client connecting from `source`."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=server.url, transport=transport, timeout=10)


def page(server: Server, source: str, path: str = "/pywry/widget/board") -> dict[str, Any]:
    """The bootstrap (and session cookie) of a page fetched from `source`."""
    with http_from(source, server) as http:
        res = http.get(path)
    assert res.status_code == 200, res.text
    return visit(res)


def post(http: httpx.Client, boot: dict[str, Any], client: str, ident: int) -> httpx.Response:
    """One event POST as `client`."""
    headers = {"X-PyWry-Token": boot["token"], "X-PyWry-Client": client}
    if boot.get("cookie"):
        headers["Cookie"] = boot["cookie"]
    body = json.dumps({"type": "app:noop", "data": {}, "id": ident})
    return http.post(boot["events"], content=body, headers=headers)


def flood(
    server: Server, boot: dict[str, Any], senders: list[tuple[str, str]], count: int
) -> tuple[list[httpx.Response], float]:
    """`count` posts as fast as 8 threads go, spread over `(address, client)` senders; the
    answers and the seconds they took."""
    https = {source: http_from(source, server) for source, _ in senders}
    jobs = [(senders[i % len(senders)], i + 1) for i in range(count)]
    start = time.monotonic()
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda job: post(https[job[0][0]], boot, job[0][1], job[1]), jobs)
            )
    finally:
        for http in https.values():
            http.close()
    return answers, time.monotonic() - start


def refused(answers: list[httpx.Response]) -> list[httpx.Response]:
    """The 429 answers; each must say when to try again."""
    out = [r for r in answers if r.status_code == 429]
    for res in out:
        assert res.json()["error"] == "policy" and int(res.headers["retry-after"]) >= 1
    return out


def accepted(answers: list[httpx.Response]) -> int:
    assert {r.status_code for r in answers} <= {200, 429}, {r.status_code for r in answers}
    return sum(r.status_code == 200 for r in answers)


def opens(client: Client) -> int | None:
    """None when the socket serves an event, else the code the server closed it with."""
    try:
        client.send("app:noop")
        client.recv_until("pywry:ack")
        return None
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


def stream(server: Server, boot: dict[str, Any], source: str, **kw: Any) -> StreamClient:
    """An event stream from `source` that the server may refuse (`status`) or end."""
    return StreamClient(server.url, boot, source=source, reopen=False, **kw)


# -- new client ids -------------------------------------------------------------------------------
@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_fresh_client_ids_are_bounded_per_address(
    limited: dict[str, Server], framework: str, transport: str, address: Callable[[], str]
) -> None:
    server, attacker = limited[framework], address()
    boot = page(server, attacker)
    if transport == "ws":
        codes = []
        for _ in range(NEW_CLIENTS + 2):
            c = Client(server.url, boot, source=attacker)
            codes.append(opens(c))
            c.close()
        assert codes[:NEW_CLIENTS] == [None] * NEW_CLIENTS and codes[-1] == 1008, codes
    else:
        with http_from(attacker, server) as http:
            answers = [post(http, boot, f"fresh{i}", 1) for i in range(5 * NEW_CLIENTS)]
        assert accepted(answers) <= NEW_CLIENTS + 1 and refused(answers)
    with http_from(address(), server) as http:  # another address is served as before
        assert post(http, boot, "newcomer", 1).status_code == 200


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_posts_are_limited_per_address_whatever_the_client_id(
    limited: dict[str, Server], framework: str, address: Callable[[], str]
) -> None:
    server, attacker = limited[framework], address()
    boot = page(server, attacker)
    clients = [(attacker, f"rot{i}") for i in range(5)]  # 5 clients could send 100 at once
    answers, took = flood(server, boot, clients, 300)
    assert accepted(answers) <= PER_ADDRESS * (1 + took) + 2, (accepted(answers), took)
    assert refused(answers)
    with http_from(address(), server) as http:
        assert post(http, boot, "rot0", 10_000).status_code == 200


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_events_of_one_widget_are_limited_per_token(
    limited: dict[str, Server], framework: str, address: Callable[[], str]
) -> None:
    server = limited[framework]
    boot = page(server, address(), "/pywry/app/report")  # a widget (and token) of its own
    senders = [(address(), f"poster{i}") for i in range(6)]  # 6 clients could send 120 at once
    answers, took = flood(server, boot, senders, 300)
    assert accepted(answers) <= PER_TOKEN * (1 + took) + 2, (accepted(answers), took)
    assert refused(answers)


@pytest.mark.parametrize("framework", sorted(WEBSOCKETS))
def test_socket_events_are_limited_per_address(
    limited: dict[str, Server], framework: str, address: Callable[[], str]
) -> None:
    server, attacker = limited[framework], address()
    boot = page(server, attacker)
    sockets = [Client(server.url, boot, source=attacker) for _ in range(SLOTS_PER_ADDRESS)]
    each = PER_CLIENT - 1  # every socket stays under its own limit
    try:
        for ident in range(1, each + 1):
            for c in sockets:
                try:
                    c.send("app:noop", ident=ident)
                except ConnectionClosed:
                    pass
        codes = []
        for c in sockets:
            try:
                _read_acks(c, each)
                codes.append(None)
            except ConnectionClosed as exc:
                codes.append(exc.rcvd.code if exc.rcvd else None)
        assert 1008 in codes, codes
    finally:
        for c in sockets:
            c.close()


def _read_acks(c: Client, last: int) -> None:
    """Read until the ack of event `last` (ConnectionClosed when the server closed first)."""
    for _ in range(10 * last):
        msg = c.recv()
        if msg["type"] == "pywry:ack" and msg["data"]["id"] == last:
            return
    raise AssertionError(f"no ack of {last}")


# -- connection slots ------------------------------------------------------------------------------
@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_connections_are_shared_per_address_and_a_page_replaces_its_own(
    limited: dict[str, Server], framework: str, transport: str, address: Callable[[], str]
) -> None:
    server = limited[framework]
    boot = page(server, address(), "/pywry/app/report")  # its own slots; one visitor's cookie
    attacker, victim, reloader = address(), address(), address()
    held: list[Any] = []
    try:
        if transport == "ws":
            held += [Client(server.url, boot, source=attacker) for _ in range(SLOTS_PER_ADDRESS)]
            assert [opens(c) for c in held] == [None] * SLOTS_PER_ADDRESS
            extra = Client(server.url, boot, source=attacker)
            assert opens(extra) == 1008
            held.append(Client(server.url, boot, source=victim))
            assert opens(held[-1]) is None  # the widget still has room for others
            first = Client(server.url, boot, source=reloader, client="page1")
            second = Client(server.url, boot, source=reloader, client="page1", next_id=100)
            third = Client(server.url, boot, source=reloader, client="page1", next_id=200)
            held += [first, second, third]
            assert opens(third) is None and first.close_code() == 1008
            assert opens(second) is None  # within its share of two
        else:
            held += [stream(server, boot, attacker) for _ in range(SLOTS_PER_ADDRESS)]
            assert [s.status for s in held] == [200] * SLOTS_PER_ADDRESS
            extra = stream(server, boot, attacker)
            held.append(extra)
            assert extra.status == 429 and (extra.error_body or {}).get("error") == "policy"
            held.append(stream(server, boot, victim))
            assert held[-1].status == 200
            first = stream(server, boot, reloader, client="page1")
            second = stream(server, boot, reloader, client="page1")
            third = stream(server, boot, reloader, client="page1")
            held += [first, second, third]
            assert third.status == 200
            assert first.ended(5) and first.stream_ends, "the page's oldest stream stays open"
            assert not second.stream_ends
    finally:
        for c in held:
            c.close()


# -- per-visitor widgets ---------------------------------------------------------------------------
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_per_visitor_widgets_per_address_are_limited(
    limited: dict[str, Server], framework: str, address: Callable[[], str]
) -> None:
    server, visitor = limited[framework], address()
    with http_from(visitor, server) as http:
        answers = [http.get("/pywry/app/report") for _ in range(VISITOR_WIDGETS + 1)]
    assert [r.status_code for r in answers[:-1]] == [200] * VISITOR_WIDGETS
    last = answers[-1]
    assert last.status_code == 429 and last.json()["error"] == "too-many-widgets"
    assert int(last.headers["retry-after"]) >= 1
    with http_from(address(), server) as http:
        assert http.get("/pywry/app/report").status_code == 200


@contextmanager
def full_host(framework: str, logs: Path) -> Iterator[Server]:
    """`framework`'s host with room for its board and one more widget."""
    env = {
        **LIMITED,
        "PYWRY_SERVER__MAX_WIDGETS": "2",
        "PYWRY_SERVER__UNCLAIMED_WIDGET_TTL": "1",
        "PYWRY_SERVER__MAX_VISITOR_WIDGETS_PER_MINUTE": "100",
    }
    with contextmanager(launched)([framework], env, logs) as started:
        yield started[framework]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_full_registry_answers_503_until_unclaimed_widgets_go(
    framework: str, tmp_path: Path
) -> None:
    with full_host(framework, tmp_path) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/pywry/widget/board").status_code == 200
        assert http.get("/pywry/app/report").status_code == 200
        full = http.get("/pywry/app/report")
        assert full.status_code == 503, full.text
        assert full.json()["error"] == "too-many-widgets" and "MAX_WIDGETS" in full.text
        assert int(full.headers["retry-after"]) >= 1
        # nobody opened the page: its widget goes after UNCLAIMED_WIDGET_TTL, not 300 s
        deadline = time.monotonic() + 15
        while http.get("/pywry/app/report").status_code != 200:
            assert time.monotonic() < deadline, "the unclaimed widget was never collected"
            time.sleep(0.2)
