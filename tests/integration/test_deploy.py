"""deploy(): workers, reload, SSL and the refusal of workers without shared state."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.integration.wsclient import Client, bootstrap, socket_as, visit
from tests.support import (
    EXAMPLES,
    ROOT,
    clean_env,
    ctrl_c,
    free_port,
    listening_addresses,
    make_certificate,
    run_server,
    spawn,
    wait_http,
)

pytestmark = pytest.mark.integration


def test_workers_without_shared_state_are_refused_with_a_clear_error(tmp_path) -> None:
    env = clean_env(PYWRY_SERVER__PORT=str(free_port()), PYWRY_SERVER__WORKERS="4")
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "deploy_quickstart.py")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode != 0
    assert "PYWRY_SERVER__WORKERS=4" in out.stderr and "sqlite" in out.stderr
    assert "redis" in out.stderr


def test_ctrl_c_stops_deploy_without_a_traceback() -> None:
    port = free_port()
    env = clean_env(PYWRY_SERVER__PORT=str(port))
    proc = spawn([sys.executable, str(EXAMPLES / "deploy_quickstart.py")], env)
    wait_http(f"http://127.0.0.1:{port}/health", proc)
    status, err = ctrl_c(proc)
    assert status == 0, err
    assert "Traceback" not in err and "Application shutdown complete." in err


def test_ctrl_c_stops_make_demo_without_a_traceback() -> None:
    make = shutil.which("make")
    assert make is not None, "make is not installed"
    port = free_port()
    # `-o setup`: run the demo with this interpreter rather than building .venv first
    argv = [make, "-o", "setup", "demo", f"BIN={Path(sys.executable).parent}"]
    proc = spawn(argv, clean_env(PYWRY_SERVER__PORT=str(port)))
    wait_http(f"http://127.0.0.1:{port}/health", proc)
    status, err = ctrl_c(proc)
    assert status in (0, 130), err  # make itself reports an interrupt as 130, as a shell does
    assert "Traceback" not in err and "Application shutdown complete." in err


def test_a_busy_port_ends_deploy_with_one_line_naming_the_setting() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [sys.executable, str(EXAMPLES / "deploy_quickstart.py")],
            env=clean_env(PYWRY_SERVER__PORT=str(port)), capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
    assert out.returncode == 1
    assert re.fullmatch(
        rf"pywry cannot listen on 127\.0\.0\.1:{port}: the port is in use; choose another port "
        r"with PYWRY_SERVER__PORT=\d+, or PYWRY_SERVER__PORT=0 for any free one\n",
        out.stderr,
    ), out.stderr


def test_two_workers_on_sqlite_started_by_deploy(tmp_path) -> None:
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="2",
        PYWRY_DEPLOY__STATE_BACKEND="sqlite",
        PYWRY_DEPLOY__SQLITE_PATH=str(tmp_path / "state.db"),
        PYWRY_SQLITE_KEY="k",
    )
    argv = [sys.executable, str(EXAMPLES / "deploy_quickstart.py")]
    with run_server(argv, env, port, tmp_path, ready_path="/") as server:
        tokens = {bootstrap(httpx.get(server.url + "/").text)["token"] for _ in range(20)}
        assert len(tokens) == 1  # every worker serves the same widget with the same token
        c = Client(server.url, bootstrap(httpx.get(server.url + "/").text))
        c.send("app:click", {"clicks": 3})
        for _ in range(50):
            msg = c.recv(timeout=10)
            if msg["type"] == "app:answer":
                break
        assert msg["data"]["clicks"] == 3
        c.close()


def test_reload_restarts_on_code_changes(tmp_path) -> None:
    script = tmp_path / "my_app.py"
    shutil.copy(EXAMPLES / "deploy_quickstart.py", script)
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port), PYWRY_SERVER__RELOAD="true"
    )
    with run_server([sys.executable, str(script)], env, port, tmp_path, ready_path="/") as srv:
        assert "<title>Quarterly Revenue</title>" in httpx.get(srv.url + "/").text
        script.write_text(
            script.read_text().replace('title="Quarterly Revenue"', 'title="Reloaded"')
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if "<title>Reloaded</title>" in httpx.get(srv.url + "/", timeout=2).text:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert "<title>Reloaded</title>" in httpx.get(srv.url + "/").text


def test_deploy_serves_https_and_wss_with_the_ssl_settings(tmp_path) -> None:
    cert, key = make_certificate(tmp_path)
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__SSL_CERTFILE=str(cert),
        PYWRY_SERVER__SSL_KEYFILE=str(key),
    )
    argv = [sys.executable, str(EXAMPLES / "deploy_quickstart.py")]
    with run_server(argv, env, port, tmp_path, ready_path="/", scheme="https") as srv:
        ctx = ssl.create_default_context(cafile=str(cert))
        page = httpx.get(srv.url + "/", verify=ctx)
        assert page.status_code == 200
        boot = bootstrap(page.text)
        with connect(
            f"wss://127.0.0.1:{port}{boot['ws']}?client=tlsclient&after=0",
            subprotocols=[f"pywry.token.{boot['token']}"],  # type: ignore[list-item]
            ssl=ctx,
            open_timeout=5,
        ) as ws:
            ws.send('{"type":"app:click","data":{"clicks":1},"id":1}')
            frames = [ws.recv(timeout=5) for _ in range(2)]  # where its session starts, the ack
            assert any("pywry:ack" in str(f) for f in frames), frames


def test_the_full_example_listens_on_loopback_as_the_readme_runs_it(tmp_path) -> None:
    """`python examples/deploy_full_example.py` with no PYWRY_SERVER__HOST: 127.0.0.1 only."""
    port = free_port()
    argv = [sys.executable, str(EXAMPLES / "deploy_full_example.py")]
    with run_server(argv, clean_env(PYWRY_SERVER__PORT=str(port)), port, tmp_path, ready_path="/"):
        assert listening_addresses(port) == {"127.0.0.1"}


def test_allowed_hosts_let_a_loopback_deploy_answer_to_its_proxy_names(tmp_path) -> None:
    """Behind a proxy that keeps the Host: the listed names reach the page and the socket
    (Origin the same name), every other name is refused."""
    port = free_port()
    env = clean_env(PYWRY_SERVER__PORT=str(port), PYWRY_SERVER__ALLOWED_HOSTS="*.example.test")
    argv = [sys.executable, str(EXAMPLES / "deploy_quickstart.py")]
    with run_server(argv, env, port, tmp_path, ready_path="/") as srv:
        name = f"dash.example.test:{port}"
        page = httpx.get(srv.url + "/", headers={"Host": name})
        assert page.status_code == 200
        boot = bootstrap(page.text)
        path = f"{boot['ws']}?client=proxied&after=0"
        with socket_as(port, name, path, boot["token"], f"https://{name}") as ws:
            ws.send('{"type":"app:click","data":{"clicks":1},"id":1}')
            frames = [ws.recv(timeout=5) for _ in range(2)]
            assert any("pywry:ack" in str(f) for f in frames), frames
        refused = httpx.get(srv.url + "/", headers={"Host": f"rebind.attacker.example:{port}"})
        assert refused.status_code == 400 and "PYWRY_SERVER__ALLOWED_HOSTS" in refused.text


def test_page_factories_with_two_workers(tmp_path) -> None:
    """`get_server_app(apps=...)` runs twice in each worker (the script is imported again);
    both workers start and serve the applications."""
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="2",
        PYWRY_DEPLOY__STATE_BACKEND="sqlite",
        PYWRY_DEPLOY__SQLITE_PATH=str(tmp_path / "state.db"),
        PYWRY_SQLITE_KEY="k",
    )
    argv = [sys.executable, str(ROOT / "tests" / "apps" / "apps_app.py")]
    with run_server(argv, env, port, tmp_path, ready_path="/app/report") as srv:
        for _ in range(10):
            with httpx.Client() as fresh:  # a new connection each time: any worker may answer
                page = fresh.get(srv.url + "/app/report")
            assert page.status_code == 200 and "<p>report</p>" in page.text
        c = Client(srv.url, visit(page))
        c.send("app:hello")
        answer, _ = c.recv_until("app:hello-answer", timeout=10)
        assert answer["data"]["label"] == c.label
        c.close()
        assert "already given its applications" not in srv.log()


def _fails_fast(argv: list[str], env: dict[str, str], setting: str) -> None:
    """The process exits non-zero within a few seconds, one line naming `setting`, no traceback."""
    started = time.monotonic()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    took = time.monotonic() - started
    assert out.returncode != 0, out.stderr
    assert took < 10, f"took {took:.1f}s to give up"
    lines = [line for line in out.stderr.splitlines() if setting in line]
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr + out.stdout, out.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unwritable_sqlite_path_stops_deploy_at_once(tmp_path, workers) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be (even root cannot mkdir)")
    env = clean_env(
        PYWRY_SERVER__PORT=str(free_port()),
        PYWRY_SERVER__WORKERS=workers,
        PYWRY_DEPLOY__STATE_BACKEND="sqlite",
        PYWRY_DEPLOY__SQLITE_PATH=str(blocker / "state.db"),
        PYWRY_SQLITE_KEY="k",
    )
    argv = [sys.executable, str(EXAMPLES / "deploy_quickstart.py")]
    _fails_fast(argv, env, "PYWRY_DEPLOY__SQLITE_PATH")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_redis_absent_at_start_stops_deploy_at_once(tmp_path, workers) -> None:
    env = clean_env(
        PYWRY_SERVER__PORT=str(free_port()),
        PYWRY_SERVER__WORKERS=workers,
        PYWRY_DEPLOY__STATE_BACKEND="redis",
        PYWRY_DEPLOY__REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
    )
    argv = [sys.executable, str(EXAMPLES / "deploy_quickstart.py")]
    _fails_fast(argv, env, "PYWRY_DEPLOY__REDIS_URL")


def test_redis_absent_fails_the_lifespan_of_a_plain_uvicorn_run(tmp_path) -> None:
    """Not started by deploy(): the ASGI start-up fails with the same line instead of hanging."""
    port = free_port()
    env = clean_env(
        PYWRY_DEPLOY__STATE_BACKEND="redis",
        PYWRY_DEPLOY__REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        PYTHONPATH=str(EXAMPLES),
    )
    argv = [sys.executable, "-m", "uvicorn", "deploy_quickstart:app", "--port", str(port)]
    _fails_fast(argv, env, "PYWRY_DEPLOY__REDIS_URL")
