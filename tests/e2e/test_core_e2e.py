"""The bridge and the core in a real Chromium: the Quick Start, and reconnect with replay."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.support import EXAMPLES, ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.e2e


def start(script: str, tmp_path_factory: pytest.TempPathFactory, **env: str) -> Iterator[Server]:
    port = free_port()
    full = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port), **env)
    with run_server([sys.executable, script], full, port, tmp_path_factory.mktemp("e2e")) as srv:
        yield srv


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(str(EXAMPLES / "deploy_quickstart.py"), tmp_path_factory)


@pytest.fixture(scope="module")
def core_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(str(ROOT / "tests" / "apps" / "core_app.py"), tmp_path_factory)


def test_quickstart_page_button_reaches_python_and_back(quickstart: Server, page) -> None:
    page.goto(quickstart.url + "/")
    page.evaluate("window.pywry.ready")
    page.click("#btn")
    page.wait_for_function("document.getElementById('answer').textContent === 'clicks: 1'")
    page.click("#btn")
    page.wait_for_function("document.getElementById('answer').textContent === 'clicks: 2'")


COUNT_ANSWERS = "window.answers = 0; window.pywry.on('app:answer', () => { window.answers += 1; })"


RECORD_ANSWERS = """() => {
  window.shown = [];
  const el = document.getElementById('answer');
  new MutationObserver(() => window.shown.push(el.textContent))
    .observe(el, {childList: true, characterData: true, subtree: true});
}"""


def test_two_browsers_on_one_widget_each_get_their_own_answer(quickstart: Server, browser) -> None:
    ctx_a, ctx_b = browser.new_context(), browser.new_context()
    try:
        a, b = ctx_a.new_page(), ctx_b.new_page()
        a.goto(quickstart.url + "/")
        b.goto(quickstart.url + "/widget/dashboard")
        a.evaluate("window.pywry.ready")
        b.evaluate("window.pywry.ready")
        b.evaluate(RECORD_ANSWERS)
        a.click("#btn")
        a.wait_for_function("document.getElementById('answer').textContent === 'clicks: 1'")
        b.reload()  # a refresh neither destroys the widget nor disconnects the other browser
        b.evaluate("window.pywry.ready")
        b.evaluate(RECORD_ANSWERS)
        a.evaluate(RECORD_ANSWERS)
        b.click("#btn")
        b.wait_for_function("document.getElementById('answer').textContent === 'clicks: 1'")
        a.click("#btn")  # a barrier: a's own answer comes after anything b's click sent it
        a.wait_for_function("document.getElementById('answer').textContent === 'clicks: 2'")
        assert a.evaluate("window.shown") == ["clicks: 2"]  # b's answer never reached a
        assert b.evaluate("window.shown") == ["clicks: 1"]  # nor a's answer b
        assert a.evaluate("window.pywry.state") == "open"
    finally:
        ctx_a.close()
        ctx_b.close()


def test_page_reconnects_by_itself_and_shows_missed_messages_once(core_app: Server, page) -> None:
    page.goto(core_app.url + "/widget/e2e")
    page.evaluate("window.pywry.ready")
    page.click("#ping")
    page.wait_for_function("document.getElementById('pong').textContent === 'pong 1'")
    res = httpx.post(core_app.url + "/test/drop/e2e", params={"count": 3})
    assert res.json() == {"closed": 1}
    page.wait_for_function("document.querySelectorAll('#notes li').length >= 3")
    page.click("#ping")  # the page is live again, on a new socket
    page.wait_for_function("document.getElementById('pong').textContent === 'pong 2'")
    notes = page.eval_on_selector_all("#notes li", "els => els.map(e => e.textContent)")
    assert notes == ["note-0", "note-1", "note-2"]
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "navigate"


def test_events_emitted_before_the_connection_are_queued_not_lost(core_app: Server, page) -> None:
    page.goto(core_app.url + "/widget/e2e")
    # the page emitted while its state was still "connecting"; the answer proves it was queued
    page.wait_for_function("document.getElementById('early').textContent === 'early connecting'")
