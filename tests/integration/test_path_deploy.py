"""Directory deploy without a browser: `pywry.path_deploy()` from a script (a custom index that
every worker imports, `index=False`, where it listens), two workers on Redis exchanging events,
roles with access control on, and `--static-dir`."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pywry.config import PyWrySettings
from pywry.core.app import App
from tests.apps.path_tree import app_source, make_tree
from tests.integration.test_multiworker import backend_env
from tests.integration.wsclient import Client, bootstrap, page_bootstrap
from tests.support import (
    ROOT,
    clean_env,
    ctrl_c,
    free_port,
    listening_addresses,
    raw_status,
    read_lines,
    spawn,
    wait_http,
)

pytestmark = pytest.mark.integration
SCRIPT = ROOT / "tests" / "apps" / "path_deploy_app.py"
SECRET = "s" * 40


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; each is stopped with Ctrl+C, which must be clean."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        status, err = ctrl_c(proc)
        assert status == 0 and "Traceback" not in err, err[-3000:]


def test_two_workers_on_redis_import_the_custom_index_and_exchange_events(
    tmp_path: Path, redis_server, running: list[subprocess.Popen[bytes]]
) -> None:
    base, port = make_tree(tmp_path), free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="2",
        **backend_env("redis", redis_server, tmp_path),
    )
    running.append(spawn([sys.executable, str(SCRIPT), str(base), "custom"], env))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", running[0], timeout=60)
    assert listening_addresses(port) == {"127.0.0.1"}  # host="": the settings' host
    for _ in range(4):  # new connections, so both workers answer some
        with httpx.Client() as client:
            folder = client.get(url + "/A/")
            assert folder.status_code == 200 and "<h1 id='folder'>A</h1>" in folder.text
            assert "<li>b.py</li>" in folder.text and "_hidden" not in folder.text
            assert "C index" in client.get(url + "/C/").text  # index.py wins over index=
    for _ in range(4):  # each visit its own widget; its socket on either worker
        boot = page_bootstrap(url + "/A/b")
        client = Client(url, boot)
        try:
            client.send("app:click")
            answer, _ = client.recv_until("app:count", timeout=10)
            assert answer["data"] == {"text": "B one", "n": 1}
        finally:
            client.close()


def test_index_false_any_free_port_and_every_interface_when_nothing_is_set(
    tmp_path: Path, running: list[subprocess.Popen[bytes]]
) -> None:
    base = make_tree(tmp_path)
    running.append(spawn([sys.executable, str(SCRIPT), str(base), "none"], clean_env()))
    line = next(
        text for text in read_lines(running[0], 3, stderr=True) if text.startswith("pywry:")
    )
    assert line.startswith(f"pywry: serving the applications in {base} at http://127.0.0.1:")
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", running[0])
    assert "0.0.0.0" in listening_addresses(port)  # host="" and no PYWRY_SERVER__HOST
    assert httpx.get(url + "/A/").status_code == 404  # index=False
    assert httpx.get(url + "/").status_code == 404
    assert httpx.get(url + "/C/").status_code == 200  # its index.py still answers
    assert httpx.get(url + "/A/b").status_code == 200


def write_protected_apps(base: Path) -> None:
    (base / "reports").mkdir()
    (base / "reports" / "quarterly.py").write_text(
        'ROLES = ["analyst"]\n' + app_source("quarterly")
    )
    (base / "admin").mkdir()
    (base / "admin" / "panel.py").write_text(
        app_source("panel") + 'from pywry.auth import protect\n\nprotect(main, roles=["manager"])\n'
    )


def test_roles_and_static_files_through_the_command_line(
    tmp_path: Path, running: list[subprocess.Popen[bytes]]
) -> None:
    base = make_tree(tmp_path)
    write_protected_apps(base)
    for name in ("health.py", "ws/x.py", "static/y.py", "widget/z.py"):  # pywry's own paths
        (base / name).parent.mkdir(exist_ok=True)
        (base / name).write_text(app_source(name))
    static = tmp_path / "public"
    (static / "img").mkdir(parents=True)
    (static / "img" / "logo.txt").write_text("the logo")
    (tmp_path / "secret.txt").write_text("not public")
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_DEPLOY__AUTH_ENABLED="true",
        PYWRY_DEPLOY__AUTH_SECRET=SECRET,
    )
    argv = [sys.executable, "-m", "pywry", "path-deploy", str(base), "--port", str(port)]
    running.append(spawn([*argv, "--static-dir", str(static)], env))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", running[0])
    issuer = App(PyWrySettings(deploy={"auth_enabled": True, "auth_secret": SECRET}))
    ann = {"Authorization": "Bearer " + issuer.access.issue("ann", ["analyst"], 600)}
    bob = {"Authorization": "Bearer " + issuer.access.issue("bob", ["manager"], 600)}

    def status(path: str, headers: dict[str, str] | None = None) -> int:
        return httpx.get(url + path, headers=headers).status_code

    assert status("/") == status("/reports/quarterly") == 401  # nobody signed in
    listing = httpx.get(url + "/", headers=ann)
    assert listing.status_code == 200 and 'href="/reports/"' in listing.text
    for shadowed in ('href="/health"', 'href="/ws/"', 'href="/static/"', 'href="/widget/"'):
        assert shadowed not in listing.text  # pywry's routes win: lists leave those out
    assert httpx.get(url + "/health").json()["status"] == "ok"
    quarterly = httpx.get(url + "/reports/quarterly", headers=ann)  # the module's ROLES
    assert quarterly.status_code == 200 and bootstrap(quarterly.text)["label"]
    assert status("/admin/panel", ann) == 403  # protect(main, roles=["manager"])
    assert status("/admin/panel", bob) == 200 and status("/reports/quarterly", bob) == 403
    assert status("/_secret", bob) == 404 and status(f"/x{uuid.uuid4().hex}", bob) == 404
    logo = httpx.get(url + "/static/img/logo.txt")
    assert logo.status_code == 200 and logo.text == "the logo"
    for target in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/img/../../x"):
        assert raw_status(port, target) == 404, target
