"""`PYWRY_SERVER__RELOAD=true` with `start_server` (and `deploy()`): a changed file restarts the
server on the same port, and the open Chromium page reloads by itself and shows the new
content."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from tests.support import (
    ROOT,
    announced_url,
    clean_env,
    ctrl_c,
    free_port,
    read_lines,
    spawn,
    wait_http,
)

pytestmark = pytest.mark.e2e

SCRIPT = """
import sys
from pywry.inline import show

def index():
    return show('<h1 id="version">version 1</h1>', title="Reload")

adapter = __import__("pywry.adapters." + sys.argv[1], fromlist=["start_server"])
adapter.start_server(index, port=0, host="127.0.0.1")
"""
DEPLOY_SCRIPT = """
from pywry.inline import deploy, get_server_app, show

def index():
    return show('<h1 id="version">version 1</h1>', title="Reload")

app = get_server_app(apps=index)
if __name__ == "__main__":
    deploy(app)
"""


def change_and_see_the_page_reload(page, script: Path, url: str, source: str) -> None:
    """Open `url`/, rewrite `script` to say version 2, and watch the page reload by itself."""
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.goto(url + "/")
    page.wait_for_function("window.pywry && window.pywry.state === 'open'")
    first_boot = httpx.get(url + "/health").json()["boot"]
    page.evaluate("window.loadedOnce = true")  # gone once the page has reloaded

    script.write_text(source.replace("version 1", "version 2"))
    try:
        page.wait_for_function(
            "document.getElementById('version')?.textContent === 'version 2'", timeout=30_000
        )
    except Exception as exc:  # say what the page saw; the caller adds the server's stderr
        raise AssertionError(f"the page did not reload; its console: {console}") from exc
    assert page.evaluate("window.loadedOnce") is None  # a reload, not a content update
    assert page.url == url + "/"  # the same port: the socket outlived the restart
    assert httpx.get(url + "/health").json()["boot"] != first_boot
    page.wait_for_function("window.pywry.state === 'open'")
    page.close()


def reload_then_stop(page, proc, script: Path, url: str, source: str) -> tuple[int, str]:
    """`change_and_see_the_page_reload`, then Ctrl+C; a failure carries the server's stderr."""
    try:
        change_and_see_the_page_reload(page, script, url, source)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nthe server's stderr:\n{ctrl_c(proc)[1]}") from exc
    return ctrl_c(proc)


@pytest.mark.parametrize("framework", ["fastapi", "flask", "django", "aiohttp"])
def test_a_changed_file_restarts_the_server_and_the_page_reloads_itself(
    page, tmp_path: Path, framework: str
) -> None:
    script = tmp_path / "my_app.py"
    script.write_text(SCRIPT)
    env = clean_env(PYWRY_SERVER__RELOAD="true", PYTHONPATH=str(ROOT))
    proc = spawn([sys.executable, str(script), framework], env, cwd=tmp_path)
    try:
        url = announced_url(proc)
        (watching,) = read_lines(proc, 1, stderr=True)
        assert watching.startswith("pywry: reloading when a .py file under ")
        status, err = reload_then_stop(page, proc, script, url, SCRIPT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "my_app.py changed; restarting the server" in err
    assert status == 0 and "Traceback" not in err, err


def test_deploy_reload_reloads_open_pages_too(page, tmp_path: Path) -> None:
    """deploy() reloads through uvicorn's reloader; its children give out boot ids the same way."""
    script = tmp_path / "my_app.py"
    script.write_text(DEPLOY_SCRIPT)
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__RELOAD="true",
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYTHONPATH=str(ROOT),
    )
    proc = spawn([sys.executable, str(script)], env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/health", proc)
        status, err = reload_then_stop(page, proc, script, url, DEPLOY_SCRIPT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert status == 0 and "Traceback" not in err, err
