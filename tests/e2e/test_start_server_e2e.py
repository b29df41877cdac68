"""`start_server` of every adapter, and `wsgi_app` under gunicorn, in a real Chromium.

examples/multiple_apps.py serves a list of two applications: `/` lists them (no `index`),
task_1's button calls `go_app("task_2")` in its callback, the page lands on task_2, and
task_2's own callback answers. `start_server` blocks until Ctrl+C and then exits cleanly.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import (
    EXAMPLES,
    announced_url,
    clean_env,
    ctrl_c,
    free_port,
    run_server,
    spawn,
)

pytestmark = pytest.mark.e2e

TRANSPORT = {"fastapi": "websocket", "aiohttp": "websocket", "flask": "http", "django": "http"}


@contextmanager
def start_server(framework: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python examples/multiple_apps.py <framework> 0`: its URL (any free port) and process."""
    argv = [sys.executable, str(EXAMPLES / "multiple_apps.py"), framework, "0"]
    proc = spawn(argv, clean_env())
    try:
        yield announced_url(proc), proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def walk_the_apps(page, url: str, transport: str) -> None:
    """Index -> task_1 -> (callback: go_app) task_2 -> task_2's callback answers."""
    page.goto(url + "/")
    names = page.eval_on_selector_all("ul.pywry-apps a", "links => links.map(a => a.textContent)")
    assert names == ["task_1", "task_2"]  # the generated index: the list has no `index`
    page.click("a:has-text('task_1')")
    page.wait_for_url(url + "/app/task_1")
    page.wait_for_function("window.pywry && window.pywry.state === 'open'")
    assert page.evaluate("window.pywry.transport") == transport
    page.click("#go")  # its callback calls go_app("task_2"): the page moves
    page.wait_for_url(url + "/app/task_2")
    assert page.text_content("#title") == "Task 2"
    page.click("#ping")
    page.wait_for_function("document.getElementById('answer').textContent === 'pong from task 2'")
    page.click("#back")  # a plain `?app=` link works from an application's page too
    page.wait_for_function("document.getElementById('title').textContent === 'Task 1'")


@pytest.mark.parametrize("framework", list(TRANSPORT))
def test_start_server_serves_two_apps_with_go_app_between_them(page, framework: str) -> None:
    with start_server(framework) as (url, proc):
        walk_the_apps(page, url, TRANSPORT[framework])
        page.close()
        status, err = ctrl_c(proc)
    assert status == 0 and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("framework", "target"),
    [("flask", "multiple_apps_flask:app"), ("django", "multiple_apps_django:application")],
)
def test_wsgi_app_runs_under_gunicorn(page, tmp_path: Path, framework: str, target: str) -> None:
    port = free_port()
    argv = [
        sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "16",
        "--graceful-timeout", "1", "-b", f"127.0.0.1:{port}", "--chdir", str(EXAMPLES), target,
    ]  # fmt: skip
    with run_server(argv, clean_env(), port, tmp_path) as server:
        walk_the_apps(page, server.url, "http")
