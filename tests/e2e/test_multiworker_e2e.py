"""The Full Example dashboard with PYWRY_SERVER__WORKERS=4 on Redis, driven by Chromium."""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer
from tests.support import EXAMPLES, Server, clean_env, free_port, run_server, worker_pids

pytestmark = pytest.mark.e2e
SEED_CSV = "quarter,value\nQ1,100\nQ2,150\nQ3,130\nQ4,180"


@pytest.fixture(scope="module")
def redis_for_workers(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-e2e")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def four_workers(redis_for_workers, tmp_path_factory) -> Iterator[Server]:
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="4",
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_DEPLOY__STATE_BACKEND="redis",
        PYWRY_DEPLOY__REDIS_URL=redis_for_workers.url,
        PYWRY_DEPLOY__REDIS_PREFIX="e2e" + uuid.uuid4().hex[:6],
    )
    argv = [sys.executable, str(EXAMPLES / "deploy_full_example.py")]
    with run_server(argv, env, port, tmp_path_factory.mktemp("workers"), ready_path="/") as srv:
        yield srv


def export(page, tmp: Path) -> str:
    with page.expect_download(timeout=20_000) as info:
        page.click("text=Export CSV")
    download = info.value
    assert download.suggested_filename == "data.csv"
    target = tmp / f"{uuid.uuid4().hex}.csv"
    download.save_as(target)
    return target.read_text()


def open_dashboard(browser, server: Server):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(server.url + "/")
    page.evaluate("window.pywry.ready")
    return context, page


def test_ten_page_loads_on_four_workers_each_get_their_download(
    four_workers: Server, browser, tmp_path
) -> None:
    assert len(worker_pids(four_workers)) == 4
    for _ in range(10):
        context, page = open_dashboard(browser, four_workers)
        try:
            assert export(page, tmp_path) == SEED_CSV
        finally:
            context.close()


def test_pages_show_reconnecting_while_redis_is_down_and_recover(
    four_workers: Server, redis_for_workers: RedisServer, browser, tmp_path
) -> None:
    context, page = open_dashboard(browser, four_workers)
    try:
        redis_for_workers.stop()
        page.wait_for_selector(".pywry-banner", state="visible", timeout=20_000)
        redis_for_workers.start()
        page.wait_for_function("window.pywry.state === 'open'", timeout=30_000)
        page.wait_for_selector(".pywry-banner", state="hidden", timeout=10_000)
        assert export(page, tmp_path) == SEED_CSV
    finally:
        context.close()


def test_killed_worker_pages_continue_on_the_others(
    four_workers: Server, browser, tmp_path
) -> None:
    pages = [open_dashboard(browser, four_workers) for _ in range(6)]
    try:
        victim = worker_pids(four_workers)[0]
        os.kill(victim, signal.SIGKILL)
        for _, page in pages:
            assert export(page, tmp_path) == SEED_CSV
    finally:
        for context, _ in pages:
            context.close()
