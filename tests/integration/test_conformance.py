"""Every adapter passes the same scenarios, over every transport it offers, on a real server.

Servers (one each, started together, module-scoped): FastAPI mount under uvicorn, Flask under
gunicorn (gthread), aiohttp, Django under gunicorn (WSGI) and under uvicorn (ASGI). Each mounts
pywry at `/pywry` in a host app of its own (tests/apps/frameworks/). The multi-worker section at
the end runs Flask and Django under `gunicorn -w 4` and aiohttp as several processes on the
sqlite backend, with no sticky sessions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.apps.frameworks import PARTNER
from tests.integration.sseclient import StreamClient
from tests.integration.wsclient import Client, bootstrap, page_bootstrap, socket_as, visit
from tests.support import ROOT, Server, clean_env, free_port, wait_http

pytestmark = pytest.mark.integration

SSE_TIMEOUT = 2.0
RATE = 20
FRAMEWORKS = ["fastapi", "flask", "aiohttp", "django-wsgi", "django-asgi"]
WEBSOCKETS = {"fastapi", "aiohttp", "django-asgi"}
CSRF = {"flask", "django-wsgi", "django-asgi"}
CASES = [(fw, t) for fw in FRAMEWORKS for t in ("ws", "http") if t == "http" or fw in WEBSOCKETS]
IDS = [f"{fw}-{t}" for fw, t in CASES]


def _gunicorn(app: str, port: int, workers: int = 1) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "--threads",
        "16",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--graceful-timeout",
        "2",
    ]
    try:
        from gunicorn.config import KNOWN_SETTINGS  # noqa: PLC0415

        if any("--no-control-socket" in (s.cli or ()) for s in KNOWN_SETTINGS):
            argv.append("--no-control-socket")  # several gunicorns at once would share it
    except ImportError:  # pragma: no cover
        pass
    return [*argv, app]


def _uvicorn(app: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def _aiohttp(port: int, reuse: bool = False) -> list[str]:
    argv = [sys.executable, "-m", "tests.apps.frameworks.aiohttp_host"]
    return [*argv, "--reuse-port"] if reuse else argv


def _commands(port: int) -> dict[str, list[str]]:
    return {
        "fastapi": _uvicorn("tests.apps.frameworks.fastapi_host:app", port),
        "flask": _gunicorn("tests.apps.frameworks.flask_host:app", port),
        "aiohttp": _aiohttp(port),
        "django-wsgi": _gunicorn("tests.apps.frameworks.django_host:application", port),
        "django-asgi": _uvicorn("tests.apps.frameworks.django_host:asgi_application", port),
    }


def selected(request: pytest.FixtureRequest, names: list[str]) -> list[str]:
    """The frameworks the collected tests of this module use (`-k flask` starts Flask only)."""
    wanted: set[str] = set()
    for item in request.session.items:
        if item.module is not request.module:
            continue
        callspec = getattr(item, "callspec", None)
        framework = callspec.params.get("framework") if callspec else None
        if framework is None:
            wanted.update(n for n in names if n in item.name)
        else:
            wanted.add(framework)
    return [n for n in names if n in wanted]


@pytest.fixture(scope="module")
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """The hosts the selected tests need, started in parallel."""
    env_base = dict(
        PYWRY_SERVER__MAX_PAYLOAD_SIZE="64K",
        PYWRY_SERVER__SSE_TIMEOUT=str(SSE_TIMEOUT),
        PYWRY_SERVER__RECONNECT_TIMEOUT="5",
        PYWRY_SERVER__TRUST_FORWARDED_PREFIX="true",
        PYWRY_SERVER__MAX_EVENTS_PER_SECOND=str(RATE),
        PYWRY_SERVER__ACCESS_LOG="false",
        HOST_PAYLOAD="64K",
    )
    names = selected(request, FRAMEWORKS) or FRAMEWORKS
    yield from launched(names, env_base, tmp_path_factory.mktemp("conformance"))


def launched(names: list[str], env_base: dict[str, str], logs: Path) -> Iterator[dict[str, Server]]:
    """Start the hosts `names` with `env_base` in parallel; yield them once all answer."""
    started: dict[str, Server] = {}
    for name in names:
        port = free_port()
        argv = _commands(port)[name]
        log_path = logs / f"{name}.log"
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(
                argv,
                env=clean_env(PORT=str(port), **env_base),
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started[name] = Server(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        for srv in started.values():
            wait_http(srv.url + "/pywry/health", srv.proc, timeout=30)
        yield started
    except BaseException:
        for name, srv in started.items():
            sys.stderr.write(f"--- {name}\n{srv.log()[-3000:]}\n")
        raise
    finally:
        for srv in started.values():
            srv.stop()


# -- helpers --------------------------------------------------------------------------------------
def boot_of(server: Server, label: str = "board") -> dict[str, Any]:
    return page_bootstrap(f"{server.url}/pywry/widget/{label}")


def connect(server: Server, transport: str, boot: dict[str, Any] | None = None, **kw: Any) -> Any:
    """A client of `transport` on `boot` (default: the board)."""
    boot = boot or boot_of(server)
    if transport == "ws":
        return Client(server.url, boot, **kw)
    return StreamClient(server.url, boot, **kw)


def refusal(server: Server, transport: str, boot: dict[str, Any], **kw: Any) -> int | None:
    """The close code (ws) or HTTP status (http) a refused connection gets."""
    if transport == "ws":
        return Client(server.url, boot, **kw).close_code()
    client = StreamClient(server.url, boot, reopen=False, **kw)
    client.close()
    return client.status


EXPECTED = {
    "unknown": {"ws": 4004, "http": 404},
    "token": {"ws": 4001, "http": 401},
    "origin": {"ws": 4003, "http": 403},
}


def _srv(servers: dict[str, Server], framework: str) -> Server:
    return servers[framework]


# -- scenarios ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_page_loads_under_the_mount_prefix(
    servers: dict[str, Server], framework: str, transport: str
) -> None:
    server = _srv(servers, framework)
    res = httpx.get(server.url + "/pywry/widget/board")
    assert res.status_code == 200 and "text/html" in res.headers["content-type"]
    boot = bootstrap(res.text)
    assert boot["stream"] == "/pywry/sse/board" and boot["events"] == "/pywry/events/board"
    assert boot["ws"] == ("/pywry/ws/board" if framework in WEBSOCKETS else None)
    assert '<script src="/pywry/pywry-static/bridge.js' in res.text
    asset = httpx.get(server.url + "/pywry/pywry-static/bridge.js")
    assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
    assert httpx.get(server.url + "/pywry/widget/nosuchwidget").status_code == 404


@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_token_handshake(servers: dict[str, Server], framework: str, transport: str) -> None:
    server = _srv(servers, framework)
    boot = boot_of(server)
    c = connect(server, transport, boot)
    try:
        if transport == "ws":
            assert c.ws.subprotocol == f"pywry.token.{boot['token']}"
        else:
            assert c.status == 200
    finally:
        c.close()


@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_event_reaches_callback_and_emit_reaches_every_connection(
    servers: dict[str, Server], framework: str, transport: str
) -> None:
    server = _srv(servers, framework)
    a, b = connect(server, transport), connect(server, "http")
    try:
        ident = a.send("app:click", {"n": 7})
        got_a, before = a.recv_until("app:answer")
        got_b, _ = b.recv_until("app:answer")
        assert got_a["data"]["n"] == 7 and got_a == got_b and got_a["seq"] >= 1
        acks = [m for m in before if m["type"] == "pywry:ack"]
        if not acks:
            acks = [a.recv_until("pywry:ack")[0]]
        assert acks[0]["data"]["id"] == ident and "seq" not in acks[0]
        a.send("app:async")
        a.recv_until("app:async-answer")
        b.recv_until("app:async-answer")
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_an_emit_in_a_callback_reaches_the_sender_only(
    servers: dict[str, Server], framework: str, transport: str
) -> None:
    server = _srv(servers, framework)
    a, b = connect(server, transport), connect(server, "http")
    try:
        a.send("app:reply", {"n": 4})
        got, _ = a.recv_until("app:reply-answer")
        assert got["data"] == {"n": 4} and got["cseq"] >= 1 and "seq" not in got
        a.send("app:click", {"n": 5})  # a broadcast, to see what b received before it
        answer, before = b.recv_until("app:answer")
        assert answer["data"]["n"] == 5
        assert "app:reply-answer" not in [m["type"] for m in before]
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_duplicate_event_runs_the_callback_once_and_errors_come_back(
    servers: dict[str, Server], framework: str, transport: str
) -> None:
    server = _srv(servers, framework)
    c = connect(server, transport)
    try:
        c.send("app:click", {"n": 1}, ident=5)
        first, _ = c.recv_until("app:answer")
        c.send("app:click", {"n": 1}, ident=5)  # a resend after a reconnect
        c.send("app:count", {}, ident=6)
        count, before = c.recv_until("app:count")
        assert count["data"]["calls"] == first["data"]["calls"]
        assert not [m for m in before if m["type"] == "app:answer"]
        ident = c.send("app:fail")
        err, _ = c.recv_until("pywry:error")
        assert err["data"]["code"] == "callback-error" and err["data"]["id"] == ident
    finally:
        c.close()


@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_resume_after_a_dropped_connection_misses_and_repeats_nothing(
    servers: dict[str, Server], framework: str, transport: str
) -> None:
    server = _srv(servers, framework)
    a, b = connect(server, transport), connect(server, "http")
    try:
        a.send("app:count")
        last = a.recv_until("app:count")[0]["seq"]
        a.close()
        b.send("app:burst", {"count": 3})
        notes = [b.recv_until("app:note")[0] for _ in range(3)]
        again = connect(server, transport, after=last, next_id=2)
        try:
            got = [again.recv() for _ in range(3)]
            assert got == notes
            again.send("app:count")
            count, before = again.recv_until("app:count")
            assert [m["type"] for m in before] in ([], ["pywry:ack"])
            assert count["seq"] == notes[-1]["seq"] + 1
        finally:
            again.close()
    finally:
        b.close()


@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_refusals_wrong_token_foreign_origin_unknown_widget(
    servers: dict[str, Server], framework: str, transport: str
) -> None:
    server = _srv(servers, framework)
    boot = boot_of(server)
    unknown = {**boot, "label": "nosuch", "ws": "/pywry/ws/nosuch", "stream": "/pywry/sse/nosuch"}
    assert refusal(server, transport, unknown) == EXPECTED["unknown"][transport]
    assert refusal(server, transport, boot, token="wrong") == EXPECTED["token"][transport]
    evil = "http://evil.example"
    assert refusal(server, transport, boot, origin=evil) == EXPECTED["origin"][transport]
    same = connect(server, transport, boot, origin=server.url)  # the host's own origin is fine
    same.send("app:count")
    same.recv_until("app:count")
    same.close()
    if transport == "http":  # posts are checked the same way
        body = json.dumps({"type": "app:count", "data": {}, "id": 1})
        with httpx.Client(base_url=server.url) as http:
            headers = {"X-PyWry-Client": "poster", "Content-Type": "application/json"}
            r = http.post(boot["events"], content=body, headers=headers)
            assert r.status_code == 401 and r.json()["error"] == "bad-token"
            headers["X-PyWry-Token"] = boot["token"]
            r = http.post(boot["events"], content=body, headers={**headers, "Origin": evil})
            assert r.status_code == 403 and r.json()["error"] == "origin-not-allowed"
            r = http.post("/pywry/events/nosuch", content=body, headers=headers)
            assert r.status_code == 404 and r.json()["error"] == "unknown-widget"
            r = http.post(boot["events"], content="garbage", headers=headers)
            assert r.status_code == 400 and r.json()["error"] == "bad-message"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_token_in_the_url_is_refused(servers: dict[str, Server], framework: str) -> None:
    server = _srv(servers, framework)
    boot = boot_of(server)
    query = {"client": "c1", "token": boot["token"]}
    for method, path in (("GET", boot["stream"]), ("POST", boot["disconnect"])):
        r = httpx.request(method, server.url + path, params=query)
        assert r.status_code == 401 and r.json()["error"] == "token-in-url", (path, r.text)


@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_oversized_payload_is_refused(
    servers: dict[str, Server], framework: str, transport: str
) -> None:
    server = _srv(servers, framework)
    if transport == "ws":
        c = connect(server, "ws")
        c.send("app:click", {"blob": "x" * 70_000})
        assert c.close_code() == 1009
        return
    c = connect(server, "http")
    try:
        res = c.post(json.dumps({"type": "app:click", "data": {"blob": "x" * 70_000}, "id": 1}))
        assert res.status_code == 413 and res.json()["error"] == "too-big"
        c.send("app:count")  # the client is still served
        c.recv_until("app:count")
    finally:
        c.close()


@pytest.mark.parametrize(("framework", "transport"), CASES, ids=IDS)
def test_rate_limit(servers: dict[str, Server], framework: str, transport: str) -> None:
    server = _srv(servers, framework)
    c = connect(server, transport)
    if transport == "ws":
        for i in range(RATE * 3):
            try:
                c.send("app:noop", {}, ident=i + 1)
            except Exception:  # noqa: BLE001 - already closed by the server
                break
        assert c.close_code() == 1008
        return
    try:
        assert c.post(json.dumps({"type": "app:noop", "id": 1})).status_code == 200
        body = [json.dumps({"type": "app:noop", "id": i + 2}) for i in range(RATE * 10)]
        with ThreadPoolExecutor(8) as pool:  # faster than the bucket refills, even on a busy box
            statuses = list(pool.map(lambda b: c.post(b).status_code, body))
        assert 429 in statuses and 200 in statuses
    finally:
        c.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_stream_is_ended_by_the_server_and_resumes(
    servers: dict[str, Server], framework: str
) -> None:
    server = _srv(servers, framework)
    start = time.monotonic()  # before the stream opens: the server's clock starts later
    c = connect(server, "http")
    b = connect(server, "http")
    try:
        while not c.stream_ends and time.monotonic() - start < SSE_TIMEOUT + 5:
            time.sleep(0.05)
        assert c.stream_ends, "the server never ended the stream"
        assert SSE_TIMEOUT <= c.stream_ends[0] - start <= SSE_TIMEOUT + 4
        b.send("app:burst", {"count": 5})  # lands while c's streams come and go
        for _ in range(5):
            b.recv_until("app:note")
        seqs = [c.recv_until("app:note")[0]["seq"] for _ in range(5)]
        assert seqs == sorted(set(seqs)) and seqs[-1] - seqs[0] == 4
    finally:
        c.close()
        b.close()


@pytest.mark.parametrize("framework", [fw for fw in FRAMEWORKS if fw in CSRF])
def test_csrf_on_in_the_host(servers: dict[str, Server], framework: str) -> None:
    """Hosts with CSRF protection of their own (FastAPI and aiohttp have none)."""
    server = _srv(servers, framework)
    assert httpx.post(server.url + "/host/form", data={"x": "1"}).status_code in (400, 403)
    c = connect(server, "http")
    try:
        c.send("app:count")  # pywry's posts pass: the token and origin protect them
        c.recv_until("app:count")
    finally:
        c.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_forwarded_prefix_is_honoured_when_trusted(
    servers: dict[str, Server], framework: str
) -> None:
    server = _srv(servers, framework)
    res = httpx.get(server.url + "/pywry/widget/board", headers={"X-Forwarded-Prefix": "/proxy"})
    boot = bootstrap(res.text)
    assert boot["stream"] == "/proxy/pywry/sse/board"
    assert '<script src="/proxy/pywry/pywry-static/bridge.js' in res.text
    bad = httpx.get(server.url + "/pywry/widget/board", headers={"X-Forwarded-Prefix": "/../x"})
    assert bootstrap(bad.text)["stream"] == "/pywry/sse/board"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_applications_are_made_per_visitor(servers: dict[str, Server], framework: str) -> None:
    server = _srv(servers, framework)
    index = httpx.get(server.url + "/pywry/")
    assert index.status_code == 200
    assert 'href="/pywry/app/report"' in index.text and 'href="/pywry/app/summary"' in index.text
    one = visit(httpx.get(server.url + "/pywry/app/report"))
    two = visit(httpx.get(server.url + "/pywry/?app=report"))
    assert one["label"] != two["label"] and one["stream"] == f"/pywry/sse/{one['label']}"
    summary = httpx.get(server.url + "/pywry/app/summary")  # an async factory
    assert summary.status_code == 200 and "<p>summary</p>" in summary.text
    assert httpx.get(server.url + "/pywry/app/nope").status_code == 404
    c = StreamClient(server.url, one)
    try:
        c.send("app:hello")
        answer, _ = c.recv_until("app:visitor-answer")
        assert answer["data"]["label"] == one["label"]
    finally:
        c.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_static_dir_without_traversal(servers: dict[str, Server], framework: str) -> None:
    server = _srv(servers, framework)
    res = httpx.get(server.url + "/pywry/static/hello.txt")
    assert res.status_code == 200 and res.text.strip() == "hello from the host"
    assert httpx.get(server.url + "/pywry/static/sub/n.txt").text.strip() == "nested"
    again = httpx.get(
        server.url + "/pywry/static/hello.txt", headers={"If-None-Match": res.headers["etag"]}
    )
    assert again.status_code == 304
    for path in (
        "%2e%2e/widgets.py",
        "sub/%2e%2e/%2e%2e/widgets.py",
        "..%2fwidgets.py",
        "nope.txt",
    ):
        status = httpx.get(server.url + "/pywry/static/" + path).status_code
        assert status in (400, 404), path


def test_fastapi_mount_leaves_the_host_alone(servers: dict[str, Server]) -> None:
    server = servers["fastapi"]
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/host/session").json() == {"visits": 1, "started": "yes"}
        assert http.get("/host/session").json()["visits"] == 2  # the host's session cookie
        boom = http.get("/host/boom")
        assert boom.status_code == 418 and boom.json() == {"handled": "host handler ran"}


@pytest.mark.parametrize("framework", ["flask", "django-wsgi"])
def test_template_helper_embeds_the_widget(servers: dict[str, Server], framework: str) -> None:
    res = httpx.get(servers[framework].url + "/host/embed")
    assert res.status_code == 200
    assert '<iframe class="pywry-widget" src="/pywry/widget/board"' in res.text


@pytest.mark.parametrize("framework", ["flask", "django-wsgi", "django-asgi"])
def test_get_widget_html_in_a_host_view_fits_the_transport(
    servers: dict[str, Server], framework: str
) -> None:
    page = httpx.get(servers[framework].url + "/host/page").text
    boot = bootstrap(page)
    assert boot["stream"] == "/pywry/sse/board"
    assert boot["ws"] == ("/pywry/ws/board" if framework in WEBSOCKETS else None)
    assert '<script src="/pywry/pywry-static/bridge.js' in page  # not the site root


VISITS = [
    ("fastapi", "/host/visit"),
    ("fastapi", "/host/visit-sync"),
    ("flask", "/host/visit"),
    ("aiohttp", "/host/visit"),
    ("django-wsgi", "/host/visit"),
    ("django-asgi", "/host/visit"),
]


@pytest.mark.parametrize(("framework", "route"), VISITS, ids=[f"{f}{r}" for f, r in VISITS])
def test_show_in_a_host_route_is_per_visitor_without_middleware(
    servers: dict[str, Server], framework: str, route: str
) -> None:
    """No pywry middleware in any host: each visit still gets its own unguessable widget."""
    server = servers[framework]
    pages = [httpx.get(server.url + route) for _ in range(2)]
    assert all(p.status_code == 200 for p in pages)
    boots = [bootstrap(p.text) for p in pages]
    labels = [b["label"] for b in boots]
    assert labels[0] != labels[1]
    # a module-level label is "m-" + a hash of the call site, which anyone can compute
    assert all(label.startswith("w-") and len(label) >= 16 for label in labels), labels
    assert boots[0]["stream"] == f"/pywry/sse/{labels[0]}"
    assert boots[0]["ws"] == (f"/pywry/ws/{labels[0]}" if framework in WEBSOCKETS else None)
    assert '<script src="/pywry/pywry-static/bridge.js' in pages[0].text
    asset = httpx.get(server.url + "/pywry/pywry-static/bridge.js")
    assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
    transport = "ws" if framework in WEBSOCKETS else "http"
    c = connect(server, transport, boots[0])
    try:
        c.send("app:hello")
        got, _ = c.recv_until("app:visitor-answer")
        assert got["data"]["label"] == labels[0]
    finally:
        c.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_disconnect_honours_the_adapters_allowed_origins(
    servers: dict[str, Server], framework: str
) -> None:
    """Every host passes `allowed_origins=[PARTNER]` to its adapter: a page of that origin may
    end its client's presence, a foreign one may not, however often the app was asked for."""
    server = _srv(servers, framework)
    boot = boot_of(server)
    assert httpx.get(server.url + "/pywry/widget/board").status_code == 200  # one more request
    url = f"{server.url}/pywry/disconnect/board?client=partnerpage"
    token = {"X-PyWry-Token": boot["token"]}
    assert httpx.post(url, headers={**token, "Origin": PARTNER}).status_code == 204
    evil = httpx.post(url, headers={**token, "Origin": "http://evil.example"})
    assert evil.status_code == 403 and evil.json()["error"] == "origin-not-allowed"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_foreign_host_is_refused_on_every_route_and_handshake(
    servers: dict[str, Server], framework: str
) -> None:
    """DNS rebinding against pywry embedded in a loopback-bound server: a page on another name
    (now resolving to 127.0.0.1) sends that name as Host and its own origin. Every route and
    handshake is refused: pywry's plain 400, or Django's own for a host not in ALLOWED_HOSTS,
    which is also the list pywry goes by under Django."""
    server = _srv(servers, framework)
    boot = boot_of(server)
    evil = f"rebind.attacker.example:{server.port}"
    headers = {
        "Host": evil,
        "Origin": f"http://{evil}",
        "X-PyWry-Token": boot["token"],
        "X-PyWry-Client": "rebinder",
    }
    body = json.dumps({"type": "app:count", "data": {}, "id": 1})
    for method, path in (
        ("GET", "/pywry/widget/board"),
        ("GET", boot["stream"] + "?client=rebinder"),
        ("POST", boot["events"]),
        ("POST", "/pywry/disconnect/board?client=rebinder"),
    ):
        content = body if method == "POST" else None
        res = httpx.request(method, server.url + path, headers=headers, content=content)
        assert res.status_code == 400, path
        if not framework.startswith("django"):
            assert "PYWRY_SERVER__ALLOWED_HOSTS" in res.text, path
    if framework in WEBSOCKETS:
        path = f"{boot['ws']}?client=rebinder&after=0"
        with pytest.raises(InvalidStatus):
            socket_as(server.port, evil, path, boot["token"], headers["Origin"])
    assert httpx.get(server.url + "/pywry/widget/board").status_code == 200
    if framework.startswith("django"):  # ALLOWED_HOSTS lists .example.test: pywry agrees
        listed = {"Host": f"dash.example.test:{server.port}"}
        assert httpx.get(server.url + "/pywry/widget/board", headers=listed).status_code == 200


# -- several workers, no sticky sessions ---------------------------------------------------------
MULTI = ["flask", "django-wsgi", "aiohttp"]


@pytest.fixture(scope="module")
def workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """Flask and Django under `gunicorn -w 4`, aiohttp as 3 processes; sqlite backend."""
    logs = tmp_path_factory.mktemp("workers")
    started: dict[str, Server] = {}
    with ExitStack() as stack:
        for name in selected(request, MULTI) or MULTI:
            port = free_port()
            env = clean_env(
                PORT=str(port),
                PYWRY_DEPLOY__STATE_BACKEND="sqlite",
                PYWRY_DEPLOY__SQLITE_PATH=str(Path(logs) / f"{name}.db"),
                PYWRY_SERVER__SSE_TIMEOUT=str(SSE_TIMEOUT),
                PYWRY_SERVER__ACCESS_LOG="false",
                PYWRY_SERVER__MAX_PAYLOAD_SIZE="64K",
                HOST_PAYLOAD="64K",
            )
            if name == "aiohttp":
                argvs = [_aiohttp(port, reuse=True) for _ in range(3)]
            else:
                app = {
                    "flask": "tests.apps.frameworks.flask_host:app",
                    "django-wsgi": "tests.apps.frameworks.django_host:application",
                }[name]
                argvs = [_gunicorn(app, port, workers=4)]
            log_path = logs / f"{name}.log"
            procs = []
            for argv in argvs:
                out = stack.enter_context(open(log_path, "ab"))
                procs.append(
                    subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
                )
            srv = Server(procs[0], f"http://127.0.0.1:{port}", log_path)
            srv.extra = procs[1:]  # type: ignore[attr-defined]
            started[name] = srv
        try:
            for srv in started.values():
                wait_http(srv.url + "/pywry/health", srv.proc, timeout=30)
            time.sleep(1.0)  # every worker up
            yield started
        except BaseException:
            for name, srv in started.items():
                sys.stderr.write(f"--- {name}\n{srv.log()[-3000:]}\n")
            raise
        finally:
            for srv in started.values():
                for proc in [srv.proc, *srv.extra]:  # type: ignore[attr-defined]
                    if proc.poll() is None:
                        proc.terminate()
                for proc in [srv.proc, *srv.extra]:  # type: ignore[attr-defined]
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()


def _fresh_post(server: Server, boot: dict[str, Any], client: str, ident: int, kind: str) -> Any:
    """POST on a new TCP connection, so any worker may take it."""
    body = json.dumps({"type": kind, "data": {"n": ident}, "id": ident})
    headers = {"X-PyWry-Token": boot["token"], "X-PyWry-Client": client}
    if boot.get("cookie"):
        headers["Cookie"] = boot["cookie"]  # the browser's session, as on every request
    with httpx.Client(base_url=server.url) as http:
        return http.post(boot["events"], content=body, headers=headers)


@pytest.mark.multiworker
@pytest.mark.parametrize("framework", MULTI)
def test_several_workers_without_sticky_sessions(
    workers: dict[str, Server], framework: str
) -> None:
    server = workers[framework]
    boot = boot_of(server)
    a, b = StreamClient(server.url, boot), StreamClient(server.url, boot_of(server))
    try:
        pids = set()
        for ident in range(1, 61):  # until two workers served some (a busy box may favour one)
            res = _fresh_post(server, boot, "poster", ident, "app:click")
            assert res.status_code == 200 and res.json()["acks"] == [ident], res.text
            for client in (a, b):
                answer, _ = client.recv_until("app:answer", timeout=10)
                assert answer["data"]["n"] == ident
                pids.add(answer["data"]["pid"])
            if ident >= 12 and len(pids) > 1:
                break
        again = _fresh_post(server, boot, "poster", 5, "app:click")  # a resend: acked, not run
        assert again.json()["acks"] == [5]
        with pytest.raises(TimeoutError):
            a.recv_until("app:answer", timeout=1.5)
        assert len(pids) > 1, "every event was served by the same worker"
    finally:
        a.close()
        b.close()


@pytest.mark.multiworker
@pytest.mark.parametrize("framework", MULTI)
def test_per_visitor_application_on_several_workers(
    workers: dict[str, Server], framework: str
) -> None:
    server = workers[framework]
    boot = visit(httpx.get(server.url + "/pywry/app/report"))
    c = StreamClient(server.url, boot)
    try:
        for ident in range(1, 6):
            res = _fresh_post(server, boot, c.client, ident, "app:hello")
            assert res.status_code == 200, res.text
            answer, _ = c.recv_until("app:visitor-answer", timeout=10)
            assert answer["data"]["label"] == boot["label"]
    finally:
        c.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_pages_give_each_browser_a_session_cookie(
    servers: dict[str, Server], framework: str
) -> None:
    server = servers[framework]
    res = httpx.get(server.url + "/pywry/widget/board")
    cookie = res.headers["set-cookie"]
    assert cookie.startswith("pywry_session=") and "Path=/pywry;" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    again = httpx.get(server.url + "/pywry/widget/board", headers={"Cookie": cookie.split(";")[0]})
    assert again.status_code == 200 and "set-cookie" not in again.headers
    other = httpx.get(server.url + "/pywry/widget/board")
    assert other.headers["set-cookie"].split(";")[0] != cookie.split(";")[0]
