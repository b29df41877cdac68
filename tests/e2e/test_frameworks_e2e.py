"""Each framework's example in a real Chromium: the host page embeds the dashboard, the region
select runs its callback (the chart shows the answer), and "Export CSV" downloads data.csv."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import EXAMPLES, ROOT, Server, clean_env, free_port, wait_http

pytestmark = pytest.mark.e2e

PLOT = "document.querySelector('.js-plotly-plot')"
PLOTTED_Y = f"Array.from({PLOT}.data[0].y)"
REGION = "select[data-pywry-event='chart:region']"
NORTH_CSV = "quarter,value\nQ1,60\nQ2,90\nQ3,70\nQ4,100"
EXAMPLES_RUN = {
    "fastapi": ("websocket", lambda port: [sys.executable, str(EXAMPLES / "fastapi_mount.py")]),
    "aiohttp": ("websocket", lambda port: [sys.executable, str(EXAMPLES / "aiohttp_app.py")]),
    "flask": (
        "http",
        lambda port: [
            sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "16",
            "-b", f"127.0.0.1:{port}", "--chdir", str(EXAMPLES), "flask_app:app",
        ],
    ),
    "django-wsgi": (
        "http",
        lambda port: [
            sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "16",
            "-b", f"127.0.0.1:{port}", "--chdir", str(EXAMPLES / "django_app"),
            "salesproject.wsgi",
        ],
    ),
    "django-asgi": (
        "websocket",
        lambda port: [
            sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES / "django_app"),
            "--host", "127.0.0.1", "--port", str(port), "salesproject.asgi:application",
        ],
    ),
}  # fmt: skip


def _gunicorn_options(argv: list[str]) -> list[str]:
    if "gunicorn" not in argv:
        return argv
    try:
        from gunicorn.config import KNOWN_SETTINGS  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return argv
    extra = ["--graceful-timeout", "1"]  # open event streams would hold a stop for 30 s
    if any("--no-control-socket" in (s.cli or ()) for s in KNOWN_SETTINGS):
        extra.append("--no-control-socket")
    return [*argv[:-1], *extra, argv[-1]]


@pytest.fixture(scope="module")
def examples(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """The selected framework examples, started in parallel on free ports."""
    logs = tmp_path_factory.mktemp("framework-examples")
    started: dict[str, Server] = {}
    wanted = {
        item.callspec.params["framework"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    for name, (_transport, argv_of) in EXAMPLES_RUN.items():
        if name not in wanted:
            continue
        port = free_port()
        env = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port))
        log_path = logs / f"{name}.log"
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(
                _gunicorn_options(argv_of(port)),
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started[name] = Server(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        for srv in started.values():
            wait_http(srv.url + "/pywry/health", srv.proc, timeout=40)
        yield started
    except BaseException:
        for name, srv in started.items():
            sys.stderr.write(f"--- {name}\n{srv.log()[-3000:]}\n")
        raise
    finally:
        for srv in started.values():
            srv.stop()


@pytest.mark.parametrize("framework", list(EXAMPLES_RUN))
def test_example_host_page_embeds_the_dashboard(
    examples: dict[str, Server], framework: str, page
) -> None:
    server = examples[framework]
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(server.url + "/")
    assert page.text_content("#host-title") == "Acme sales"
    frame = page.wait_for_selector("iframe.pywry-widget").content_frame()
    assert frame is not None and frame.url.endswith("/pywry/widget/sales")
    frame.evaluate("window.pywry.ready")
    assert frame.evaluate("window.pywry.transport") == EXAMPLES_RUN[framework][0]
    frame.wait_for_function(f"{PLOT} && {PLOT}._fullLayout && {PLOT}.data.length > 0")

    frame.select_option(REGION, "north")  # the callback redraws the chart: the page's answer
    want = json.dumps(json.dumps([60, 90, 70, 100], separators=(",", ":")))
    frame.wait_for_function(f"JSON.stringify({PLOTTED_Y}) === {want}")
    frame.wait_for_function(f"{PLOT}._fullLayout.title.text.includes('North')")

    with page.expect_download() as info:
        frame.click("button:has-text('Export CSV')")
    download = info.value
    assert download.suggested_filename == "data.csv"
    assert Path(download.path()).read_text() == NORTH_CSV
    assert [u for u in missing if not u.endswith("/favicon.ico")] == []
    logged = page.console_messages  # type: ignore[attr-defined]
    errors = [m for m in logged if m.startswith("error") and "Failed to load resource" not in m]
    assert not errors, errors  # (the browser's own /favicon.ico probe is the only 404)
