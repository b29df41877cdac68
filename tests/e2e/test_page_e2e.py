"""The page side in a real Chromium: `navigate` refuses what is not http(s), a failing callback
shows its sender a toast, and the page defaults (title, favicon, padding, theme in a frame)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.e2e

# Spellings a pattern missed and the URL parser reads as javascript: (or another scheme).
BAD_URLS = [
    "java\nscript:sessionStorage.ran='newline'",
    "\x01javascript:sessionStorage.ran='control'",
    "\tJavaScript:sessionStorage.ran='tab'",
    "data:text/html,<script>opener.sessionStorage.ran='data'</script>",
    "vbscript:msgbox(1)",
]
# (a function that returns nothing: Playwright would call the unsubscribe function `on` returns)
LISTEN = """() => {
  window.navigates = 0;
  window.pywry.on("pywry:navigate", () => { window.navigates += 1; });
  window.pywry.on("app:pong", (d) => { window.lastPong = d.n; });
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__ACCESS_LOG="true",
    )
    argv = [sys.executable, str(ROOT / "tests" / "apps" / "page_app.py")]
    with run_server(argv, env, port, tmp_path_factory.mktemp("page")) as server:
        yield server


def open_widget(page, site: Server, label: str) -> None:
    page.goto(f"{site.url}/widget/{label}")
    page.evaluate("window.pywry.ready")


def round_trip(page, n: int) -> None:
    """A ping answered by Python: whatever the page queued before it has run by now."""
    page.evaluate("(n) => window.pywry.emit('app:ping', {n})", n)
    page.wait_for_function("(n) => window.lastPong === n", arg=n)


def test_navigate_runs_no_script_url_and_follows_relative_and_https(site: Server, page) -> None:
    open_widget(page, site, "nav")
    page.evaluate(LISTEN)
    for i, url in enumerate(BAD_URLS, start=1):
        page.evaluate("(url) => window.pywry.emit('app:go', {url})", url)
        page.wait_for_function("(i) => window.navigates === i", arg=i)
        round_trip(page, i)
    assert page.url == f"{site.url}/widget/nav"
    assert page.evaluate("sessionStorage.getItem('ran')") is None
    assert len(page.context.pages) == 1  # nothing opened elsewhere either
    refusals = [m for m in page.console_messages if "navigate: refusing" in m]
    assert len(refusals) == len(BAD_URLS)

    page.evaluate("window.pywry.emit('app:go', {url: 'full'})")  # relative to /widget/nav
    page.wait_for_url(f"{site.url}/widget/full")

    page.route("https://example.test/**", lambda route: route.fulfill(body="<p>landed</p>"))
    open_widget(page, site, "nav")
    page.evaluate("window.pywry.emit('app:go', {url: 'https://example.test/landing?x=1'})")
    page.wait_for_url("https://example.test/landing?x=1")


def test_a_failing_callback_shows_its_sender_a_toast(site: Server, page, browser) -> None:
    other = browser.new_context().new_page()
    try:
        open_widget(page, site, "nav")
        open_widget(other, site, "nav")
        page.evaluate("window.pywry.emit('app:fail', {})")
        toast = page.locator(".pywry-toast-error")
        toast.wait_for()
        assert "app:fail" in (toast.text_content() or "")  # the event that failed
        assert toast.get_attribute("role") == "alert"
        other.evaluate(LISTEN)
        round_trip(other, 1)
        assert other.locator(".pywry-toast").count() == 0  # only the sender is told
    finally:
        other.context.close()


def test_the_page_title_is_the_widget_title(site: Server, page) -> None:
    open_widget(page, site, "nav")
    assert page.title() == "Revenue"
    open_widget(page, site, "full")  # a whole document without a <title> of its own
    assert page.title() == "A whole page"


def test_pages_ask_for_no_favicon(site: Server, page) -> None:
    for label in ("nav", "full", "bar"):
        open_widget(page, site, label)
        page.evaluate(LISTEN)
        round_trip(page, 1)  # the browser asks for /favicon.ico soon after the page loads
    log = site.log_with('"GET /widget/bar HTTP/1.1" 200')
    assert "/favicon.ico" not in log


def test_plain_html_has_room_and_toolbars_stay_flush(site: Server, page) -> None:
    padding = "(s) => getComputedStyle(document.querySelector(s)).padding"
    open_widget(page, site, "nav")
    assert page.evaluate(padding, "#pywry-root") == "16px"
    open_widget(page, site, "bar")
    assert page.evaluate(padding, "#pywry-root") == "0px"
    assert page.evaluate(padding, ".pywry-content") == "16px"


def test_a_framed_page_without_a_theme_follows_the_host(site: Server, page) -> None:
    theme = "document.documentElement.dataset.pywryTheme"
    page.emulate_media(color_scheme="light")
    open_widget(page, site, "nav")
    assert page.evaluate(theme) == "dark"  # a page of its own keeps the default
    page.goto(f"{site.url}/host")
    frame = page.frame_locator("iframe.pywry-widget")
    frame.locator("#here").wait_for()
    framed = next(f for f in page.frames if f.url.endswith("/widget/nav"))
    framed.wait_for_function(f"{theme} === 'light'")
    page.emulate_media(color_scheme="dark")
    framed.wait_for_function(f"{theme} === 'dark'")
