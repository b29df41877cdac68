"""Flask and Django examples under `gunicorn -w 4` on Redis: 12 page loads in Chromium, each
gets its download (no sticky sessions: every request may land on any of the four workers)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer
from tests.support import EXAMPLES, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.e2e
SEED_CSV = "quarter,value\nQ1,100\nQ2,150\nQ3,130\nQ4,180"
APPS = {
    "flask": (EXAMPLES, "flask_app:app"),
    "django": (EXAMPLES / "django_app", "salesproject.wsgi"),
}


@pytest.fixture(scope="module")
def redis_for_frameworks(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-frameworks")).start()
    yield server
    server.stop()


@pytest.fixture(params=list(APPS))
def four_gunicorn_workers(request, redis_for_frameworks, tmp_path) -> Iterator[Server]:
    folder, target = APPS[request.param]
    port = free_port()
    env = clean_env(
        PYWRY_DEPLOY__STATE_BACKEND="redis",
        PYWRY_DEPLOY__REDIS_URL=redis_for_frameworks.url,
        PYWRY_DEPLOY__REDIS_PREFIX=f"{request.param}{uuid.uuid4().hex[:6]}",
    )
    argv = [
        sys.executable, "-m", "gunicorn", "-w", "4", "-k", "gthread", "--threads", "16",
        "--graceful-timeout", "1", "-b", f"127.0.0.1:{port}", "--chdir", str(folder), target,
    ]  # fmt: skip
    with run_server(argv, env, port, tmp_path, ready_path="/pywry/health") as server:
        yield server


def test_twelve_page_loads_each_get_their_download(
    four_gunicorn_workers: Server, browser, tmp_path: Path
) -> None:
    for i in range(12):  # three a worker on average; each load renders a Plotly chart (~2 s)
        context = browser.new_context(accept_downloads=True)
        try:
            page = context.new_page()
            page.goto(four_gunicorn_workers.url + "/")
            frame = page.wait_for_selector("iframe.pywry-widget").content_frame()
            assert frame is not None
            frame.evaluate("window.pywry.ready")
            with page.expect_download(timeout=20_000) as info:
                frame.click("button:has-text('Export CSV')")
            download = info.value
            assert download.suggested_filename == "data.csv"
            target = tmp_path / f"{i}.csv"
            download.save_as(target)
            assert target.read_text() == SEED_CSV
        finally:
            context.close()
