"""The `pywry` command line, run as `python -m pywry` in real processes: every command the
README shows (each server answers and exchanges an event, then stops on Ctrl+C without a
traceback), `pywry check` naming where each setting comes from, and every mistake as one line
with a non-zero exit status."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import pywry
from tests.integration.wsclient import Client, page_bootstrap
from tests.support import ROOT, clean_env, ctrl_c, free_port, spawn, wait_http

pytestmark = pytest.mark.integration

COMMANDS = re.compile(r"<!-- commands: [^>]*-->\n```bash\n(?P<lines>.*?)```", re.S)
SERVERS = ("path-deploy", "serve", "demo", "examples/path_deploy.py")


def readme_commands() -> list[str]:
    """The lines of the README's command block, comments left out."""
    found = COMMANDS.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md has no command block"
    return [line.split("  #")[0].strip() for line in found["lines"].splitlines() if line.strip()]


def argv_and_env(line: str) -> tuple[list[str], dict[str, str]]:
    """`pywry ...` as `python -m pywry ...`, with the `VAR=value` words before it as env."""
    words = shlex.split(line)
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    program = {"pywry": [sys.executable, "-m", "pywry"], "python": [sys.executable]}
    return program[words[0]] + words[1:], env


def pywry_run(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    full = clean_env(PYTHONPATH=str(ROOT), **env)
    argv = [sys.executable, "-m", "pywry", *args]
    return subprocess.run(argv, env=full, cwd=cwd, capture_output=True, text=True, timeout=60)


def click(url: str, path: str, event: str, answer: str, data: dict[str, int]) -> dict[str, int]:
    """Open a page, send `event` over its socket and return the data of the `answer`."""
    client = Client(url, page_bootstrap(url + path))
    try:
        client.send(event, data)
        reply, _ = client.recv_until(answer, timeout=15)
        return reply["data"]
    finally:
        client.close()


def check_served(line: str, url: str) -> None:
    """What the server a README line starts must serve."""
    if "serve " in line:  # the Quick Start's widget, whichever worker holds the socket
        for n in (1, 2, 3):
            assert click(url, "/", "app:click", "app:answer", {"clicks": n})["clicks"] == n
    elif "demo" in line:
        page = httpx.get(url + "/", timeout=10)
        assert page.status_code == 200 and 'id="pywry-bootstrap"' in page.text
    else:  # a directory deploy of examples/apps
        index = httpx.get(url + "/", timeout=10).text
        assert 'href="/hello"' in index and 'href="/reports/"' in index and "_draft" not in index
        assert httpx.get(url + "/_draft").status_code == 404
        if "--http" in line:
            boot = page_bootstrap(url + "/hello")
            assert boot["ws"] is None and boot["stream"]
            doc = httpx.get(url + "/static/architecture.md")
            assert doc.status_code == 200 and doc.text.startswith("# How pywry is built")
        else:
            for _ in range(3):  # each visit its own widget: its own count starts at 1
                assert click(url, "/hello", "hello:click", "hello:count", {}) == {"clicks": 1}


@pytest.mark.parametrize("line", readme_commands())
def test_a_readme_command_works(line: str, tmp_path: Path) -> None:
    argv, env = argv_and_env(line)
    port = free_port()
    full = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_DEPLOY__SQLITE_PATH=str(tmp_path / "state.db"),
        PYWRY_SQLITE_KEY="test-key",
        PYTHONPATH=str(ROOT),
        **env,
    )
    if not any(word in argv for word in SERVERS):  # check, --version
        done = subprocess.run(argv, env=full, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        if "--version" in argv:
            assert done.stdout.strip() == f"pywry {pywry.__version__}"
        else:
            assert re.search(r"^server\.port +9000 +flag --port$", done.stdout, re.M)
        return
    if "-m" in argv:
        argv += ["--port", str(port)]  # the README's port may be taken here
    proc = spawn(argv, full, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", proc, timeout=60)
        check_served(line, url)
    finally:
        status, err = ctrl_c(proc)
    assert status == 0 and "Traceback" not in err, err[-3000:]


def test_check_names_the_source_of_every_setting_and_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "pywry.toml").write_text(
        '[server]\nhost = "0.0.0.0"\nport = 7000\n'
        '[deploy]\nredis_url = "redis://:hunter2@cache:6379/0"\n'
    )
    done = pywry_run(
        "check",
        "--port",
        "9000",
        "--reload",
        cwd=tmp_path,
        PYWRY_SERVER__PORT="8000",
        PYWRY_SERVER__WORKERS="3",
        PYWRY_DEPLOY__AUTH_SECRET="x" * 40,
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in done.stdout.splitlines()[1:]}
    assert rows["server.port"] == ["9000", "flag --port"]  # flag over env over file
    assert rows["server.reload"] == ["true", "flag --reload"]
    assert rows["server.workers"] == ["3", "env PYWRY_SERVER__WORKERS"]
    assert rows["server.host"] == ['"0.0.0.0"', "file pywry.toml [server] host"]
    assert rows["server.log_level"] == ['"info"', "default"]
    assert rows["deploy.auth_secret"] == ['"***"', "env PYWRY_DEPLOY__AUTH_SECRET"]
    assert rows["deploy.redis_url"][0] == '"redis://:***@cache:6379/0"'
    assert "hunter2" not in done.stdout and "x" * 40 not in done.stdout


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


MISTAKES = [
    (["serve", "no_such_module_here:app"], 1, "no module named 'no_such_module_here'"),
    (["serve", "examples.deploy_quickstart"], 2, "expected module:attribute"),
    (["serve", "examples.deploy_quickstart:nothing"], 1, "has no attribute 'nothing'"),
    (["serve", "tests.apps.broken_app:app"], 1, "RuntimeError: no database (broken_app.py:"),
    (["serve", "os:getcwd"], 1, "is not an ASGI application"),
    (["serve", "tests.apps.core_app:app", "--workers", "0"], 2, "'--workers'"),
    (["path-deploy", "no/such/folder"], 2, "'DIRECTORY'"),
    (["path-deploy", "examples/apps", "--prot", "8000"], 2, "No such option '--prot'"),
    (["path-deploy", "examples/apps", "--port", "70000"], 2, "'--port'"),
    (["path-deploy", "examples/apps", "--host", ""], 2, "--host: String should have at least"),
    (["path-deploy", "examples/apps", "--workers", "2"], 2, "PYWRY_SERVER__WORKERS=2 needs"),
    (["path-deploy", "examples/apps", "--static-dir", "nope"], 2, "'--static-dir'"),
    (["deploy-all"], 2, "No such command 'deploy-all'"),
]


@pytest.mark.parametrize(("args", "status", "says"), MISTAKES, ids=lambda v: str(v))
def test_a_mistake_is_one_line_and_a_non_zero_status(
    args: list[str], status: int, says: str
) -> None:
    done = pywry_run(*args)
    assert done.returncode == status, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr


def test_a_port_in_use_a_bad_setting_and_a_bad_config_file_are_one_line(
    busy_port: int, tmp_path: Path
) -> None:
    for args in (
        ["path-deploy", "examples/apps", "--port", str(busy_port)],
        ["serve", "examples.deploy_quickstart:app", "--port", str(busy_port)],
    ):
        done = pywry_run(*args, PYWRY_SERVER__HOST="127.0.0.1")
        assert done.returncode == 1 and "the port is in use" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    done = pywry_run("check", PYWRY_SERVER__PORT="eighty")
    assert done.returncode == 2 and done.stderr.startswith("pywry check: PYWRY_SERVER__PORT:")
    (tmp_path / "pywry.toml").write_text("[server]\nprot = 1\n")
    done = pywry_run("serve", "x:y", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "pywry.toml [server] prot: unknown setting; did you mean port?" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


PLAIN_APP = (
    "async def app(scope, receive, send):\n"
    "    if scope['type'] != 'http':\n"
    "        return\n"
    "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
    "    await send({'type': 'http.response.body', 'body': b'%s'})\n"
)


def test_serve_runs_any_asgi_app_on_several_workers(tmp_path: Path) -> None:
    """An app without pywry needs no shared backend for its workers."""
    (tmp_path / "plain.py").write_text(PLAIN_APP % "plain asgi")
    port = free_port()
    env = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "pywry", "serve", "plain:app", "--port", str(port)]
    argv += ["--workers", "2"]
    proc = spawn(argv, env, tmp_path)
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc)
        assert httpx.get(f"http://127.0.0.1:{port}/x").text == "plain asgi"
    finally:
        status, err = ctrl_c(proc)
    assert status == 0 and "Traceback" not in err, err


def test_serve_reload_restarts_the_server_when_the_module_changes(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text(PLAIN_APP % "first")
    port = free_port()
    env = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "pywry", "serve", "plain:app", "--port", str(port), "--reload"]
    proc = spawn(argv, env, tmp_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http(url, proc)
        assert httpx.get(url).text == "first"
        deadline = time.monotonic() + 30
        seen, edits = "first", 0
        while seen != "second" and time.monotonic() < deadline:
            if edits < 5:  # the watcher may start after the server answers: edit until seen
                (tmp_path / "plain.py").write_text(PLAIN_APP % "second" + "#" * edits)
                edits += 1
            try:
                seen = httpx.get(url, timeout=2).text
            except httpx.HTTPError:  # between the old server and the new one
                pass
            if seen != "second":
                time.sleep(1.0)  # polling a server that restarts: nothing to await
        assert seen == "second"
    finally:
        status, err = ctrl_c(proc)
    assert status == 0 and "Traceback" not in err, err
