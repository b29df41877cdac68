"""The core over a real uvicorn process: handshake, events, emits, close codes, resume, GC."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.integration.wsclient import Client, page_bootstrap, socket_as
from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration
INTERNAL = "internal-test-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__INTERNAL_API_TOKEN=INTERNAL,
        PYWRY_SERVER__RECONNECT_TIMEOUT="3",  # a reload on a busy machine fits in it
        PYWRY_SERVER__OUTBOX_SIZE="20",
        PYWRY_SERVER__MAX_PAYLOAD_SIZE="64K",
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_DEPLOY__CONNECTION_TTL="1",
        PYWRY_SERVER__MAX_VISITOR_WIDGETS_PER_MINUTE="1000000",  # one address makes 10,000
        PYWRY_SERVER__OUTBOX_MAX_BYTES="100K",
        PYWRY_SERVER__REPLIES_MAX_BYTES="150K",
    )
    argv = [sys.executable, str(ROOT / "tests" / "apps" / "core_app.py")]
    with run_server(argv, env, port, tmp_path_factory.mktemp("core")) as srv:
        yield srv


def detail(server: Server) -> dict:
    res = httpx.get(server.url + "/health", headers={"X-PyWry-Internal-Token": INTERNAL})
    return res.json()


def connect(server: Server, label: str = "board", **kw) -> Client:
    return Client(server.url, page_bootstrap(f"{server.url}/widget/{label}"), **kw)


def test_event_reaches_callback_and_every_connection_gets_the_emit(server: Server) -> None:
    a = connect(server, client="clientA")
    b = connect(server, client="clientB")
    try:
        ident = a.send("app:click", {"n": 7})
        ack, _ = a.recv_until("pywry:ack")
        assert ack["data"]["id"] == ident and "seq" not in ack
        got_a, _ = a.recv_until("app:answer")
        got_b, _ = b.recv_until("app:answer")
        assert got_a["data"]["n"] == 7 and got_a == got_b
        assert got_a["seq"] >= 1
    finally:
        a.close()
        b.close()


def test_handshake_echoes_token_subprotocol(server: Server) -> None:
    boot = page_bootstrap(server.url + "/widget/board")
    c = Client(server.url, boot)
    try:
        assert c.ws.subprotocol == f"pywry.token.{boot['token']}"
    finally:
        c.close()


def test_duplicate_event_ids_run_the_callback_once(server: Server) -> None:
    c = connect(server, client="dupclient")
    try:
        c.send("app:click", {"n": 1}, ident=5)
        first, _ = c.recv_until("app:answer")
        c.send("app:click", {"n": 1}, ident=5)  # a resend after a reconnect
        ack, _ = c.recv_until("pywry:ack")
        c.send("app:count", {}, ident=6)
        count, before = c.recv_until("app:count")
        assert ack["data"]["id"] == 5
        assert count["data"]["calls"] == first["data"]["calls"]
        assert not [m for m in before if m["type"] == "app:answer"]
    finally:
        c.close()


def test_a_foreign_host_is_refused_before_anything_runs(server: Server) -> None:
    """DNS rebinding: a page on rebind.attacker.example, its name now resolving to 127.0.0.1,
    sends its own name as Host and its own origin. A loopback-bound deploy answers neither
    pywry's routes nor the user's, and refuses the socket's handshake."""
    evil = f"rebind.attacker.example:{server.port}"
    headers = {"Host": evil, "Origin": f"http://{evil}"}
    boot = page_bootstrap(server.url + "/widget/board")
    for method, path in (
        ("GET", "/widget/board"),
        ("GET", "/sync-visit"),  # a route of the user's app
        ("GET", "/health"),
        ("POST", "/events/board"),
    ):
        res = httpx.request(
            method, server.url + path, headers={**headers, "X-PyWry-Token": boot["token"]}
        )
        assert res.status_code == 400, path
        assert res.headers["content-type"].startswith("text/plain")
        assert "rebind.attacker.example" in res.text and "PYWRY_SERVER__ALLOWED_HOSTS" in res.text
    with pytest.raises(InvalidStatus) as refused:
        socket_as(server.port, evil, "/ws/board?client=rebinder", boot["token"], headers["Origin"])
    assert refused.value.response.status_code == 403
    assert httpx.get(server.url + "/widget/board").status_code == 200  # its own name still works


def test_failing_callback_answers_error_and_keeps_the_connection(server: Server) -> None:
    c = connect(server, client="failclient")
    try:
        ident = c.send("app:fail")
        err, _ = c.recv_until("pywry:error")
        assert err["data"]["code"] == "callback-error" and err["data"]["id"] == ident
        # the page learns an id, never the exception text (a DSN with its password here)
        assert "s3cret-pw" not in str(err) and "always fails" not in str(err)
        error_id = err["data"]["errorId"]
        assert error_id in err["data"]["detail"]
        c.send("app:click", {"n": 2})
        answer, _ = c.recv_until("app:answer")
        assert answer["data"]["n"] == 2
    finally:
        c.close()
    # the server's log line carries the same id, the event, the widget and the traceback
    log = server.log()
    line = next(ln for ln in log.splitlines() if error_id in ln)
    assert "app:fail" in line and "board" in line
    assert "Traceback" in log[log.index(line) :] and "s3cret-pw" in log[log.index(line) :]


def test_async_callback_and_emit_from_another_thread(server: Server) -> None:
    c = connect(server, client="asyncclient")
    try:
        c.send("app:async")
        c.recv_until("app:async-answer")
        c.send("app:thread")
        c.recv_until("app:from-thread")
    finally:
        c.close()


@pytest.mark.parametrize(
    ("frame", "detail_part"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"data": {}}', "'type'"),
        ('{"type": "app:x", "data": ' + "[" * 40 + "]" * 40 + "}", "deeper"),
        ('{"type": "app:x", "id": -3}', "'id'"),
    ],
)
def test_malformed_frames_get_bad_message_and_the_connection_stays(
    server: Server, frame: str, detail_part: str
) -> None:
    c = connect(server)
    try:
        c.ws.send(frame)
        err, _ = c.recv_until("pywry:error")
        assert err["data"]["code"] == "bad-message" and detail_part in err["data"]["detail"]
        c.send("app:click", {"n": 3})
        c.recv_until("app:answer")
    finally:
        c.close()


def test_binary_frame_is_refused_with_an_error(server: Server) -> None:
    c = connect(server, client="binary")
    try:
        c.ws.send(b"\x00\x01\x02")
        err, _ = c.recv_until("pywry:error")
        assert err["data"]["code"] == "bad-message" and "binary" in err["data"]["detail"]
    finally:
        c.close()


def test_ten_bad_frames_close_with_1008_and_leave_no_connection(server: Server) -> None:
    before = detail(server)["connections"]
    c = connect(server, client="spammer")
    for _ in range(10):
        c.ws.send("garbage")
    assert c.close_code() == 1008
    deadline = time.monotonic() + 5
    while detail(server)["connections"] > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert detail(server)["connections"] == before


def test_too_big_message_closes_with_1009(server: Server) -> None:
    c = connect(server, client="bigsender")
    c.send("app:click", {"blob": "x" * 70_000})
    assert c.close_code() == 1009


@pytest.mark.parametrize(
    ("label", "token", "origin", "code"),
    [
        ("nosuchwidget", None, None, 4004),
        ("board", "wrong-token", None, 4001),
        ("board", "", None, 4001),
        ("board", None, "http://evil.example", 4003),
    ],
)
def test_refused_handshakes_report_their_close_code(
    server: Server, label: str, token: str | None, origin: str | None, code: int
) -> None:
    boot = page_bootstrap(server.url + "/widget/board")
    boot = {**boot, "label": label, "ws": f"/ws/{label}"}
    c = Client(server.url, boot, token=token, origin=origin)
    assert c.close_code() == code


def test_same_origin_is_accepted(server: Server) -> None:
    c = connect(server, origin=server.url)
    try:
        c.send("app:count")
        c.recv_until("app:count")
    finally:
        c.close()


def test_resume_after_a_dropped_connection_delivers_exactly_the_missed_messages(
    server: Server,
) -> None:
    a = connect(server, client="resumer")
    b = connect(server, client="burster")
    try:
        a.send("app:count")
        last = a.recv_until("app:count")[0]["seq"]
        a.close()
        b.send("app:burst", {"count": 3})
        notes = [b.recv_until("app:note")[0] for _ in range(3)]
        boot = page_bootstrap(server.url + "/widget/board")
        again = Client(server.url, boot, client="resumer", after=last, next_id=2)
        got = [again.recv() for _ in range(3)]
        assert got == notes
        again.send("app:count")  # the next thing is its ack: nothing was sent twice
        nxt = again.recv()
        assert nxt["type"] == "pywry:ack"
        again.close()
    finally:
        b.close()


def test_resume_too_far_back_gets_resync(server: Server) -> None:
    b = connect(server, client="burster2")
    for _ in range(3):  # 30 messages; the outbox keeps 20
        b.send("app:burst", {"count": 10})
        for _ in range(10):
            b.recv_until("app:note")
    b.close()
    boot = page_bootstrap(server.url + "/widget/board")
    c = Client(server.url, boot, client="late", after=max(0, boot["seq"] - 25))
    msg = c.recv()
    assert msg["type"] == "pywry:resync" and msg["data"]["seq"] == boot["seq"]
    c.close()


def test_resume_past_what_the_outbox_bytes_hold_gets_resync(server: Server) -> None:
    """Twenty entries fit the outbox by count, but not 5 x 40 KB by bytes (100K)."""
    c = connect(server)
    c.send("app:count")
    gone_at = c.recv_until("app:count")[0]["seq"]
    c.close()
    other = connect(server)
    other.send("app:blobs", {"count": 5, "size": 40_000})
    other.send("app:count")  # emitted after the blobs: once it is here, they were sent
    other.recv_until("app:count")
    other.close()
    back = connect(server, after=gone_at)
    got, _ = back.recv_until("pywry:resync")
    assert got["data"]["label"] == "board" and got["data"]["seq"] >= gone_at + 5
    back.close()


def test_replies_of_pages_that_went_away_are_bounded_together(server: Server) -> None:
    """Three pages' 60 KB replies are more than REPLIES_MAX_BYTES (150K): the oldest page's
    reply goes, and that page, coming back, is moved past it instead of replayed."""
    first = connect(server, client="went-away")
    first.send("app:big-reply", {"size": 60_000})
    got, _ = first.recv_until("app:blob")
    assert got["cseq"] == 1
    first.close()
    second = connect(server, client="went-away-too")
    second.send("app:big-reply", {"size": 60_000})
    second.recv_until("app:blob")
    second.close()
    deadline = time.monotonic() + 10
    while detail(server)["connections"] and time.monotonic() < deadline:
        time.sleep(0.05)  # both pages are gone on the server's side too
    third = connect(server, client="still-here")
    third.send("app:big-reply", {"size": 60_000})
    third.recv_until("app:blob")
    third.close()
    back = connect(server, client="went-away", cafter=0, next_id=2)
    skip, seen = back.recv_until("pywry:skip")
    assert skip["data"] == {"field": "cseq", "seq": 1}
    assert "app:blob" not in [m["type"] for m in seen]
    back.close()


def test_disconnect_needs_the_widget_token(server: Server) -> None:
    url = server.url + "/disconnect/board"
    client = {"X-PyWry-Client": "someone"}
    assert httpx.post(url, headers=client).status_code == 401
    assert httpx.post(url, headers={**client, "X-PyWry-Token": "wrong"}).status_code == 401
    token = page_bootstrap(server.url + "/widget/board")["token"]
    assert httpx.post(url, headers={**client, "X-PyWry-Token": token}).status_code == 204
    assert httpx.get(server.url + "/widget/board").status_code == 200  # still there


def test_health_details_need_the_internal_token(server: Server) -> None:
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    wrong = httpx.get(server.url + "/health", headers={"X-PyWry-Internal-Token": "nope"})
    assert wrong.json() == {"status": "ok"}
    assert detail(server)["widgets"] >= 1


@pytest.mark.parametrize("route", ["/sync-visit", "/async-visit"])
def test_widgets_shown_in_a_route_are_per_visitor_and_work(server: Server, route: str) -> None:
    res1 = httpx.get(server.url + route)
    res2 = httpx.get(server.url + route)
    from tests.integration.wsclient import visit

    b1, b2 = visit(res1), visit(res2)
    assert b1["label"] != b2["label"] and b1["cookie"] != b2["cookie"]
    c = Client(server.url, b1, client="visitor")
    try:
        c.send("app:hello")
        answer, _ = c.recv_until("app:visitor-answer")
        assert answer["data"]["label"] == b1["label"]
    finally:
        c.close()
    # the widget belongs to the visitor's session: its label and token alone open nothing
    stranger = {**b1, "cookie": b2["cookie"]}
    assert Client(server.url, stranger).close_code() == 4003
    cookieless = {k: v for k, v in b1.items() if k != "cookie"}
    assert Client(server.url, cookieless).close_code() == 4003
    post = httpx.post(
        server.url + b1["events"],
        content=b'{"type":"app:hello","data":{},"id":1}',
        headers={"X-PyWry-Token": b1["token"], "X-PyWry-Client": "c9", "Cookie": b2["cookie"]},
    )
    assert post.status_code == 403
    page = f"{server.url}/widget/{b1['label']}"  # its page holds the token: not for others
    theirs = httpx.get(page, headers={"Cookie": b2["cookie"]})
    assert theirs.status_code == 403 and b1["token"] not in theirs.text
    assert httpx.get(page, headers={"Cookie": b1["cookie"]}).status_code == 200
    # two cookieless refusals: each gets a session of its own, never one made for another
    stream = f"{server.url}{b1['stream']}?client=c1"
    token = {"X-PyWry-Token": b1["token"]}
    for url in (page, stream):
        newcomer = httpx.get(url, headers=token)  # refused, with a session of its own
        known = httpx.get(url, headers={**token, "Cookie": b2["cookie"]})  # keeps its session
        assert newcomer.status_code == known.status_code == 403
        assert "pywry_session" in newcomer.cookies and "set-cookie" not in known.headers


def test_page_views_do_not_grow_widgets_without_bound(server: Server) -> None:
    base = detail(server)["widgets"]
    with httpx.Client(base_url=server.url) as http:
        for i in range(10_000):
            assert http.get("/sync-visit" if i % 2 else "/async-visit").status_code == 200
    # nobody connected: each widget goes once CONNECTION_TTL (1 s) has passed
    deadline = time.monotonic() + 15
    while detail(server)["widgets"] > base + 50 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert detail(server)["widgets"] <= base + 50


def test_visitor_widget_survives_a_reload_and_goes_after_the_window(server: Server) -> None:
    from tests.integration.wsclient import visit

    boot = visit(httpx.get(server.url + "/sync-visit"))
    page = f"{server.url}/widget/{boot['label']}"
    c = Client(server.url, boot, client="reloader")
    c.send("app:hello")
    c.recv_until("app:visitor-answer")
    c.close()
    # a reload within the reconnect window finds the widget and can reconnect
    reloaded = visit(httpx.get(page, headers={"Cookie": boot["cookie"]}))
    reloaded["cookie"] = boot["cookie"]  # the browser keeps its session across the reload
    again = Client(server.url, reloaded, client="reloader", next_id=2)
    again.send("app:hello")
    again.recv_until("app:visitor-answer")
    again.close()
    deadline = time.monotonic() + 10
    mine = {"Cookie": boot["cookie"]}
    while httpx.get(page, headers=mine).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert httpx.get(page, headers=mine).status_code == 404


def test_static_assets_have_etags(server: Server) -> None:
    res = httpx.get(server.url + "/pywry-static/bridge.js")
    assert res.status_code == 200 and "javascript" in res.headers["content-type"]
    again = httpx.get(
        server.url + "/pywry-static/bridge.js", headers={"If-None-Match": res.headers["etag"]}
    )
    assert again.status_code == 304
    assert httpx.get(server.url + "/pywry-static/../config.py").status_code == 404
    assert httpx.get(server.url + "/pywry-static/config.py").status_code == 404


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__MAX_EVENTS_PER_SECOND="5",
        PYWRY_SERVER__MAX_CONNECTIONS_PER_WIDGET="2",
        PYWRY_SERVER__MAX_WIDGETS="3",
    )
    argv = [sys.executable, str(ROOT / "tests" / "apps" / "core_app.py")]
    with run_server(argv, env, port, tmp_path_factory.mktemp("limited")) as srv:
        yield srv


def test_event_flood_closes_with_1008_and_unacked_events_can_be_resent(limited: Server) -> None:
    c = connect(limited)
    for i in range(40):
        try:
            c.send("app:count", {"i": i})
        except Exception:  # noqa: BLE001 - the server may already have closed
            break
    assert c.close_code() == 1008
    again = connect(limited)
    again.send("app:count")
    again.recv_until("app:count")
    again.close()


def test_connections_per_widget_are_limited(limited: Server) -> None:
    a, b = connect(limited), connect(limited)
    try:
        a.send("app:count")
        a.recv_until("app:count")
        b.send("app:count")
        b.recv_until("app:count")
        assert connect(limited).close_code() == 1008
    finally:
        a.close()
        b.close()


def test_widgets_per_process_are_limited(limited: Server) -> None:
    # the app registers two module widgets; a third fits, a fourth is refused without harm
    assert httpx.get(limited.url + "/sync-visit").status_code == 200
    refused = httpx.get(limited.url + "/sync-visit")
    assert refused.status_code == 503 and refused.json()["error"] == "too-many-widgets"
    assert "MAX_WIDGETS" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1  # a host route of deploy mode says when
    assert httpx.get(limited.url + "/widget/board").status_code == 200
