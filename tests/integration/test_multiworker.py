"""Several worker processes on one shared backend, with no sticky sessions (redis and sqlite).

Each worker is its own single-worker process on its own port: what a load balancer without
sticky sessions produces when every request may land anywhere.
"""

from __future__ import annotations

import signal
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.wsclient import Client, page_bootstrap, visit
from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration
APP = ROOT / "tests" / "apps" / "shared_app.py"


def backend_env(kind: str, redis_server, folder: Path) -> dict[str, str]:
    env = {
        "PYWRY_DEPLOY__STATE_BACKEND": kind,
        "PYWRY_SERVER__RECONNECT_TIMEOUT": "2",
        "PYWRY_SERVER__ACCESS_LOG": "false",
        "PYWRY_DEPLOY__CONNECTION_TTL": "10",
    }
    if kind == "redis":
        env["PYWRY_DEPLOY__REDIS_URL"] = redis_server.url
        env["PYWRY_DEPLOY__REDIS_PREFIX"] = "t" + uuid.uuid4().hex[:8]
    else:
        env["PYWRY_DEPLOY__SQLITE_PATH"] = str(folder / "state.db")
        env["PYWRY_SQLITE_KEY"] = "test-key"
    return env


def start_workers(stack: ExitStack, n: int, env: dict[str, str], folder: Path) -> list[Server]:
    servers = []
    for i in range(n):
        port = free_port()
        full = clean_env(
            PYWRY_SERVER__HOST="127.0.0.1",
            PYWRY_SERVER__PORT=str(port),
            TEST_WORKER_NAME=f"w{i + 1}",
            **env,
        )
        servers.append(
            stack.enter_context(run_server([sys.executable, str(APP)], full, port, folder))
        )
    return servers


@pytest.fixture(scope="module", params=["redis", "sqlite"])
def workers(request, redis_server, tmp_path_factory) -> Iterator[list[Server]]:
    folder = tmp_path_factory.mktemp(f"mw-{request.param}")
    with ExitStack() as stack:
        yield start_workers(stack, 3, backend_env(request.param, redis_server, folder), folder)


def until(client: Client, kind: str, pred=lambda m: True) -> tuple[dict, list[dict]]:
    seen = []
    for _ in range(500):
        msg = client.recv(timeout=10)
        if msg["type"] == kind and pred(msg):
            return msg, seen
        seen.append(msg)
    raise AssertionError(f"no {kind}")


def sync(client: Client) -> list[dict]:
    """Everything the client receives before the answer to a fresh burst (a barrier)."""
    tag = uuid.uuid4().hex
    client.send("app:burst", {"count": 1, "tag": tag})
    _, before = until(client, "app:note", lambda m: m["data"]["tag"] == tag)
    return before


def test_page_socket_and_reconnect_on_different_workers(workers: list[Server]) -> None:
    w1, w2, w3 = workers
    boot = page_bootstrap(w1.url + "/widget/board")
    a = Client(w2.url, boot)  # the page came from w1, the socket goes to w2
    b = Client(w3.url, page_bootstrap(w3.url + "/widget/board"))
    assert page_bootstrap(w3.url + "/widget/board")["token"] == boot["token"]
    try:
        a.send("app:click", {"n": 1})
        answer, _ = until(a, "app:answer", lambda m: m["data"]["n"] == 1)
        got_b, _ = until(b, "app:answer", lambda m: m["data"]["n"] == 1)
        assert answer["data"]["worker"] == "w2" and got_b["seq"] == answer["seq"]
        later = sync(a) + sync(b)
        assert not [m for m in later if m["type"] == "app:answer"], "the callback ran twice"
        last = max(m["seq"] for m in [answer] + later if "seq" in m)
        a.close()
        b.send("app:burst", {"count": 3, "tag": "missed"})
        missed = [until(b, "app:note", lambda m: m["data"]["tag"] == "missed")[0] for _ in range(3)]
        # the same page reconnects, this time to w1, and gets exactly what it missed
        again = Client(w1.url, boot, client=a_client(a), after=last, next_id=a.next_id)
        got = [m for m in sync(again) if "seq" in m and m["seq"] > last]
        assert [
            m for m in got if m["type"] == "app:note" and m["data"]["tag"] == "missed"
        ] == missed
        seqs = [m["seq"] for m in got]
        assert seqs == sorted(set(seqs))
        again.close()
    finally:
        b.close()


def a_client(c: Client) -> str:
    return c.ws.request.path.split("client=")[1].split("&")[0]


def test_every_worker_sees_every_emit_in_the_same_order(workers: list[Server]) -> None:
    clients = [Client(w.url, page_bootstrap(w.url + "/widget/board")) for w in workers]
    try:
        for i, c in enumerate(clients):
            c.send("app:burst", {"count": 5, "tag": f"order{i}"})
        streams = []
        for c in clients:
            got = []
            for _ in range(500):
                m = c.recv(timeout=10)
                if m["type"] == "app:note" and str(m["data"]["tag"]).startswith("order"):
                    got.append((m["seq"], m["data"]["tag"], m["data"]["i"]))
                if len(got) == 15:
                    break
            streams.append(got)
        assert streams[0] == streams[1] == streams[2]
        assert [s for s, _, _ in streams[0]] == sorted(s for s, _, _ in streams[0])
    finally:
        for c in clients:
            c.close()


def test_event_for_a_visitor_widget_is_routed_to_its_owner(workers: list[Server]) -> None:
    w1, w2, _ = workers
    boot = visit(httpx.get(w1.url + "/visit"))
    c = Client(w2.url, boot)
    try:
        c.send("app:hello", {"n": 5})
        answer, _ = until(c, "app:visitor-answer")
        assert answer["data"] == {"worker": "w1", "n": 5}
        # the page itself can be served to its visitor by any worker too, to no one else
        page = f"{w2.url}/widget/{boot['label']}"
        again = httpx.get(page, headers={"Cookie": boot["cookie"]})
        assert visit(again)["token"] == boot["token"]
        assert httpx.get(page).status_code == 403
    finally:
        c.close()


def test_a_routed_callback_that_blocks_holds_back_no_other_page_and_keeps_its_own_order(
    workers: list[Server],
) -> None:
    """Two visitors' widgets live on w1, their pages on w2. A's callback waits until B's callback
    has run: B's event must reach w1 while A's still runs (else A waits in vain), and A's own
    next event must still be answered after its first."""
    w1, w2, _ = workers
    a = Client(w2.url, visit(httpx.get(w1.url + "/visit")))
    b = Client(w2.url, visit(httpx.get(w1.url + "/visit")))
    gate = uuid.uuid4().hex
    try:
        a.send("app:hello", {"n": 1, "wait": gate})
        a.send("app:hello", {"n": 2})  # same page: runs after the first, never before
        b.send("app:hello", {"n": 3, "open": gate})
        answer, _ = until(b, "app:visitor-answer")
        assert answer["data"] == {"worker": "w1", "n": 3}
        first, _ = until(a, "app:visitor-answer")
        second, _ = until(a, "app:visitor-answer")
        assert first["data"] == {"worker": "w1", "n": 1, "released": True}
        assert second["data"] == {"worker": "w1", "n": 2}
    finally:
        a.close()
        b.close()


def test_a_disconnect_on_a_worker_that_never_saw_the_widget_is_checked_and_taken(
    workers: list[Server],
) -> None:
    """A page's beacon may land anywhere: the worker loads the widget like any other route,
    then checks the token and the origin as every worker would."""
    w1, _, w3 = workers
    boot = visit(httpx.get(w1.url + "/visit"))  # a per-visitor widget only w1 holds
    url = f"{w3.url}/disconnect/{boot['label']}?client=leaver"
    token = {"X-PyWry-Token": boot["token"]}
    assert httpx.post(url, headers={"X-PyWry-Token": "wrong"}).status_code == 401
    foreign = httpx.post(url, headers={**token, "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert httpx.post(url, headers={**token, "Origin": w3.url}).status_code == 204
    assert (
        httpx.post(f"{w3.url}/disconnect/w-nosuchwidget?client=x", headers=token).status_code == 404
    )


def test_update_on_one_worker_reaches_pages_served_by_the_others(workers: list[Server]) -> None:
    w1, w2, w3 = workers
    text = "version-" + uuid.uuid4().hex[:6]
    c = Client(w1.url, page_bootstrap(w1.url + "/widget/board"))
    try:
        c.send("app:update", {"text": text})
        update, _ = until(c, "pywry:update-html")
        assert text in update["data"]["html"]
    finally:
        c.close()
    for worker in (w2, w3):  # a visitor who arrives later, on any worker, sees the new content
        for _ in range(100):
            if text in httpx.get(worker.url + "/widget/board").text:
                break
            time.sleep(0.05)
        assert text in httpx.get(worker.url + "/widget/board").text


def test_killed_worker_pages_continue_elsewhere(workers: list[Server]) -> None:
    w1, w2, w3 = workers
    visitor = visit(httpx.get(w3.url + "/visit"))
    boot = page_bootstrap(w3.url + "/widget/board")
    doomed = Client(w3.url, boot)
    sync(doomed)
    w3.proc.send_signal(signal.SIGKILL)
    w3.proc.wait(10)
    with pytest.raises((ConnectionClosed, EOFError, OSError)):
        for _ in range(100):
            doomed.recv(timeout=10)
    # the page reconnects to another worker and continues
    again = Client(w2.url, boot, client=a_client(doomed), next_id=doomed.next_id)
    again.send("app:click", {"n": 99})
    answer, _ = until(again, "app:answer", lambda m: m["data"]["n"] == 99)
    assert answer["data"]["worker"] == "w2"
    # a per-visitor widget of the dead worker answers owner-gone instead of hanging
    orphan = Client(w1.url, visitor)
    orphan.send("app:hello", {"n": 1})
    err, _ = until(orphan, "pywry:error")
    assert err["data"]["code"] == "owner-gone"
    again.close()
    orphan.close()


def test_a_session_value_set_on_one_worker_is_read_on_another(workers: list[Server]) -> None:
    w1, w2 = workers[0], workers[1]  # (an earlier test may have stopped the third)
    boot = page_bootstrap(w1.url + "/widget/board")  # the browser's session cookie with it
    a = Client(w1.url, boot)
    try:
        a.send("app:remember", {"region": "north"})
        assert until(a, "app:remembered")[0]["data"]["worker"] == "w1"
    finally:
        a.close()
    b = Client(w2.url, boot)  # another tab of the same browser, on another worker
    stranger = Client(w1.url, page_bootstrap(w1.url + "/widget/board"))  # another browser
    try:
        b.send("app:recall")
        stranger.send("app:recall")
        got, _ = until(b, "app:recalled")
        assert got["data"] == {"region": "north", "worker": "w2"} and "cseq" in got
        theirs, _ = until(stranger, "app:recalled")
        assert theirs["data"] == {"region": None, "worker": "w1"}
    finally:
        b.close()
        stranger.close()


def test_a_reply_in_flight_reaches_its_page_once_after_a_reconnect_elsewhere(
    workers: list[Server],
) -> None:
    w1, w2, _ = workers
    boot = page_bootstrap(w1.url + "/widget/board")
    watcher = Client(w2.url, page_bootstrap(w2.url + "/widget/board"))
    a = Client(w1.url, boot, client="mover")
    try:
        a.send("app:slow", {"n": 7, "delay": 0.5})
        until(a, "pywry:ack")
        a.close()  # gone while its callback still runs on w1
        again = Client(w2.url, boot, client="mover", next_id=2)  # back, on the other worker
        got, _ = until(again, "app:slow-answer")
        assert got["data"] == {"n": 7, "worker": "w1"} and got["cseq"] == 1
        later = sync(again)
        assert not [m for m in later if m["type"] == "app:slow-answer"], "delivered twice"
        again.close()
        assert not [m for m in sync(watcher) if m["type"] == "app:slow-answer"]
    finally:
        watcher.close()


def test_a_tab_away_gets_its_sessions_messages_after_reconnecting_elsewhere(
    workers: list[Server],
) -> None:
    w1, w2 = workers[0], workers[1]
    boot = page_bootstrap(w1.url + "/widget/board")
    away = Client(w1.url, boot, client="away-tab")
    sync(away)
    joined = away.positions["sseq"]  # where the server said it joined its session's stream
    away.close()
    other_tab = Client(w2.url, boot)
    stranger = Client(w1.url, page_bootstrap(w1.url + "/widget/board"))
    try:
        other_tab.send("app:tell-session", {"text": "while you were away"})
        told, _ = until(other_tab, "app:told")
        assert told["sseq"] == joined + 1
        back = Client(w2.url, boot, client="away-tab", safter=joined, next_id=away.next_id)
        try:
            got, _ = until(back, "app:told")
            assert got["data"] == {"text": "while you were away", "worker": "w2"}
            assert not [m for m in sync(back) if m["type"] == "app:told"], "delivered twice"
        finally:
            back.close()
        assert not [m for m in sync(stranger) if m["type"] == "app:told"]
    finally:
        other_tab.close()
        stranger.close()
