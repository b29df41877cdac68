"""Browser mode in a real Chromium: the examples run as scripts and end when tabs close."""

from __future__ import annotations

import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EXAMPLES, ROOT, clean_env, make_certificate

pytestmark = pytest.mark.e2e

EXIT_TIMEOUT = 15.0


@contextmanager
def example(name: str, tmp_path: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run `examples/<name>` on a free port with no browser of its own; killed if still alive."""
    full = clean_env(
        PYWRY_SERVER__PORT="0",
        PYWRY_SERVER__OPEN_BROWSER="false",
        PYWRY_SERVER__RECONNECT_TIMEOUT="1",
        **env,
    )
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / name)],
            env=full,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            bufsize=0,  # unbuffered: select() then sees every line that is not read yet
        )
    try:
        yield proc
    except BaseException:
        sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def read_lines(proc: subprocess.Popen[bytes], count: int, timeout: float = 20.0) -> list[str]:
    """Read `count` stdout lines (the URLs the example prints) within `timeout` seconds."""
    assert proc.stdout is not None
    lines: list[str] = []
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while len(lines) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"only {lines} after {timeout}s")
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"example exited ({proc.poll()}) after {lines}")
            lines.append(line.decode().strip())
    return lines


def test_callbacks_example_click_answer_and_exit_on_close(page: Any, tmp_path: Path) -> None:
    with example("browser_callbacks.py", tmp_path) as proc:
        (url,) = read_lines(proc, 1)
        assert url.startswith("http://127.0.0.1:") and "/widget/" in url
        page.goto(url)
        page.evaluate("window.pywry.ready")
        page.click("#btn")
        expect(page.locator("#response")).to_have_text("Button clicked!", timeout=10_000)
        assert page.evaluate("window.pywry.transport") == "websocket"
        assert proc.poll() is None  # a page is open: block() keeps the script alive
        page.close()
        started = time.monotonic()
        assert proc.wait(timeout=EXIT_TIMEOUT) == 0  # block() returned; the script ended by itself
        assert time.monotonic() - started < EXIT_TIMEOUT


def test_block_waits_for_every_tab_of_every_widget(browser: Any, tmp_path: Path) -> None:
    context = browser.new_context()
    try:
        with example("browser_multiple.py", tmp_path) as proc:
            urls = read_lines(proc, 2)
            pages = []
            for url in urls:
                pg = context.new_page()
                pg.goto(url)
                pg.evaluate("window.pywry.ready")
                pages.append(pg)
            pages[0].close()
            # The other tab is still open: the script outlives the reconnect window (1 s).
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(timeout=2.0)
            pages[1].close()
            assert proc.wait(timeout=EXIT_TIMEOUT) == 0
    finally:
        context.close()


def test_https_example_page_and_events_over_wss(browser: Any, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    context = browser.new_context(ignore_https_errors=True)
    try:
        with example(
            "browser_https.py",
            tmp_path,
            PYWRY_SERVER__SSL_CERTFILE=str(cert),
            PYWRY_SERVER__SSL_KEYFILE=str(key),
        ) as proc:
            (url,) = read_lines(proc, 1)
            assert url.startswith("https://127.0.0.1:")
            page = context.new_page()
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.goto(url)
            assert page.url.startswith("https://")
            page.evaluate("window.pywry.ready")
            page.click("#btn")
            expect(page.locator("#response")).to_have_text(
                "pong over a secure socket", timeout=10_000
            )
            assert sockets and all(s.startswith("wss://127.0.0.1:") for s in sockets)
            page.close()
            assert proc.wait(timeout=EXIT_TIMEOUT) == 0
    finally:
        context.close()


def test_https_example_refuses_to_start_without_certificates(tmp_path: Path) -> None:
    with example("browser_https.py", tmp_path) as proc:
        assert proc.wait(timeout=EXIT_TIMEOUT) != 0
