"""Sign-in through a real OpenID Connect provider (node oidc-provider), driven by Chromium.

tests/apps/auth_app.py runs as two uvicorn worker processes (deploy(), WORKERS=2) on Redis with
access control on; the provider's login form accepts any login and password and the login typed
becomes the user's id (`sub`). Every request Chromium makes off the loopback is refused.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from tests.integration.wsclient import Client, bootstrap
from tests.support import ROOT, Server, clean_env, connection_holder, run_server

pytestmark = pytest.mark.e2e
APP = ROOT / "tests" / "apps" / "auth_app.py"
COOKIE = "pywry_session"
LOGOUT_CLOSE_LIMIT = 5.0
WHOAMI = """async () => {
  await window.pywry.ready;
  return await new Promise((resolve) => {
    const off = window.pywry.on('app:whoami', (d) => { off(); resolve(d); });
    window.pywry.emit('app:whoami', {n: 1});
  });
}"""
LOGOUT = """async () => {
  const res = await fetch('/auth/logout', {method: 'POST', credentials: 'same-origin'});
  return {status: res.status, body: await res.json()};
}"""


@pytest.fixture(scope="module")
def site(oidc_provider, redis_server, tmp_path_factory) -> Iterator[Server]:
    port = oidc_provider.take_port()
    env = clean_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__WORKERS="2",
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_DEPLOY__STATE_BACKEND="redis",
        PYWRY_DEPLOY__REDIS_URL=redis_server.url,
        PYWRY_DEPLOY__REDIS_PREFIX="signin" + uuid.uuid4().hex[:8],
        PYWRY_DEPLOY__AUTH_ENABLED="true",
        PYWRY_DEPLOY__AUTH_SECRET="signin-e2e-" + uuid.uuid4().hex + uuid.uuid4().hex,
        PYWRY_DEPLOY__ADMIN_USERS="carol",
        # every visitor here comes from 127.0.0.1: the default 20 logins a minute per worker
        # is near the number this module makes (tests/integration/test_signin_limits.py)
        PYWRY_DEPLOY__LOGIN_ATTEMPTS_PER_MINUTE="1000",
        **oidc_provider.app_env(),
    )
    folder = tmp_path_factory.mktemp("signin")
    with run_server([sys.executable, str(APP)], env, port, folder) as server:
        yield server


class Visitor:
    """One Chromium context: its page, and every off-loopback request it tried (refused)."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.outside: list[str] = []
        self.callbacks: list[str] = []  # the provider's redirects back to the app
        self.authorizations: list[str] = []  # the app's redirects to the provider
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("request", self._seen)
        self.sockets: list[Any] = []  # the page's WebSockets, as Playwright sees them
        self.page.on("websocket", lambda ws: self.sockets.append(ws))

    def _guard(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:  # e.g. the provider's page asks fonts.googleapis.com; never leave the machine
            self.outside.append(route.request.url)
            route.abort()

    def _seen(self, request: Any) -> None:
        if "/auth/callback" in request.url:
            self.callbacks.append(request.url)
        elif "response_type=code" in request.url:
            self.authorizations.append(request.url)

    def sign_in(self, server: Server, path: str, login: str, *, lands: str | None = None) -> Any:
        """Open `path`, sign in at the provider as `login`, and wait to be back at `lands`."""
        self.page.goto(server.url + path)
        fill_login(self.page, login)
        target = server.url + (path if lands is None else lands)
        wait_at(self.page, target)
        return self.page

    def cookie(self, server: Server) -> str:
        """The `Cookie` header this browser sends to the app (its pywry session)."""
        found = [c for c in self.context.cookies(server.url) if c["name"] == COOKIE]
        assert len(found) == 1, found
        return f"{COOKIE}={found[0]['value']}"

    def close(self) -> None:
        self.context.close()


def wait_at(page: Any, url: str) -> None:
    """Wait for the page to be at `url`; a failure says where it is and what it shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_url(url, timeout=15_000)
    except PlaywrightTimeout:
        body = page.text_content("body") or ""
        raise AssertionError(f"not at {url} but {page.url}: {body[:500]}") from None


def fill_login(page: Any, login: str) -> None:
    """Fill the provider's development login form (any login, any password)."""
    page.wait_for_selector("input[name=login]", timeout=15_000)
    assert "/interaction/" in page.url, page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any-password")
    page.click("button[type=submit]")


@pytest.fixture
def visitor(browser) -> Iterator[Visitor]:
    v = Visitor(browser)
    try:
        yield v
    finally:
        v.close()


def raw_boot(server: Server, cookie: str, label: str = "board") -> dict[str, Any]:
    """The bootstrap of `label`'s page as the holder of `cookie`, who sends it on sockets."""
    res = httpx.get(f"{server.url}/widget/{label}", headers={"Cookie": cookie})
    assert res.status_code == 200, (res.status_code, res.text[:300])
    boot = bootstrap(res.text)
    boot["cookie"] = cookie
    return boot


def raw_socket(server: Server, cookie: str, label: str = "board") -> Client:
    """A raw WebSocket to `label` as the holder of `cookie` (the token from that page)."""
    return Client(server.url, raw_boot(server, cookie, label))


def opened(server: Server, boot: dict[str, Any]) -> tuple[Client, int]:
    """A raw socket and the pid of the worker process that holds it."""
    raw = Client(server.url, boot)
    return raw, whoami(raw)["pid"]


def whoami(client: Client) -> dict[str, Any]:
    client.send("app:whoami", {"n": 2})
    msg, _ = client.recv_until("app:whoami", timeout=10)
    return msg["data"]


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text, text[:2000]


def test_anonymous_visitors_are_sent_to_sign_in_and_their_sockets_refused(
    site: Server, visitor: Visitor
) -> None:
    res = httpx.get(site.url + "/widget/board", follow_redirects=False)
    assert res.status_code == 302
    location = res.headers["location"]
    assert location.startswith("/auth/login?next="), location
    assert parse_qs(urlsplit(location).query)["next"] == ["/widget/board"]
    status = httpx.get(site.url + "/auth/status").json()
    assert status["signedIn"] is False and status["provider"] == "oidc"
    assert status["loginUrl"] == "/auth/login"

    # the widget's token, taken from a signed-in visitor's page, is no key without the sign-in
    visitor.sign_in(site, "/widget/board", "alice")
    res = httpx.get(site.url + "/widget/board", headers={"Cookie": visitor.cookie(site)})
    assert res.status_code == 200
    boot = bootstrap(res.text)
    anonymous = Client(site.url, boot)
    try:
        assert anonymous.close_code() == 4001
    finally:
        anonymous.close()
    # nor for the HTTP transport: the event stream and event posts answer 401
    token = {"X-PyWry-Token": boot["token"]}
    stream = httpx.get(f"{site.url}/sse/board", headers=token, timeout=5)
    assert stream.status_code == 401
    post = httpx.post(
        f"{site.url}/events/board",
        headers={**token, "X-PyWry-Client": "c" + uuid.uuid4().hex[:12]},
        json={"type": "app:whoami", "data": {}, "id": 1, "widgetId": "board"},
    )
    assert post.status_code == 401


def test_alice_signs_in_with_chromium_and_is_known_to_her_page_and_sockets(
    site: Server, visitor: Visitor
) -> None:
    page = visitor.page
    page.goto(site.url + "/widget/board")
    assert urlsplit(page.url).port != site.port, "not sent to the provider"
    fill_login(page, "alice")
    wait_at(page, site.url + "/widget/board")  # the page she asked for
    assert page.text_content("h1") == "Board"
    page.evaluate("window.pywry.ready")
    answer = page.evaluate(WHOAMI)
    assert answer["id"] == "alice"
    assert answer["roles"] == ["viewer"]
    # what pywry asked the provider for: a code, with PKCE (S256), a nonce, the default scopes
    (asked,) = [parse_qs(urlsplit(url).query) for url in visitor.authorizations]
    assert asked["response_type"] == ["code"]
    assert asked["scope"] == ["openid email profile"]
    assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0]
    assert asked["nonce"][0] and asked["state"][0]
    assert asked["redirect_uri"] == [site.url + "/auth/callback"]

    cookie = visitor.cookie(site)
    status = httpx.get(site.url + "/auth/status", headers={"Cookie": cookie}).json()
    assert status["signedIn"] is True and status["id"] == "alice"
    info = httpx.get(site.url + "/auth/userinfo", headers={"Cookie": cookie}).json()
    assert info["claims"]["email"] == "alice@example.test"

    raw = raw_socket(site, cookie)
    try:
        assert whoami(raw)["id"] == "alice"
    finally:
        raw.close()


def test_only_an_admin_is_served_the_admin_widget(site: Server, visitor: Visitor, browser) -> None:
    visitor.sign_in(site, "/widget/board", "alice")
    res = visitor.page.goto(site.url + "/widget/secret-board")
    assert res is not None and res.status == 403
    assert "may not see" in visitor.page.text_content("body")
    alice = visitor.cookie(site)
    assert (
        httpx.get(site.url + "/widget/secret-board", headers={"Cookie": alice}).status_code == 403
    )

    carol = Visitor(browser)
    try:
        page = carol.sign_in(site, "/widget/secret-board", "carol")
        assert page.text_content("h1") == "Secret board"
        res = httpx.get(site.url + "/widget/secret-board", headers={"Cookie": carol.cookie(site)})
        assert res.status_code == 200
        answer = page.evaluate(WHOAMI)
        assert answer["id"] == "carol" and "admin" in answer["roles"]
    finally:
        carol.close()


def test_a_widget_shown_on_one_worker_keeps_its_roles_on_the_other(
    site: Server, visitor: Visitor, browser
) -> None:
    """carol (an admin) publishes "report" (roles=["admin"]) through one worker; her sockets on
    both workers are served. alice, signed in but no admin, holding carol's page token, is
    refused with 4003 by every one of a burst of sockets (as carol's show, bursts reach both
    workers), and her page request gets 403."""
    carol = Visitor(browser)
    try:
        carol.sign_in(site, "/widget/board", "carol")
        carol_cookie = carol.cookie(site)
        published = httpx.post(site.url + "/publish", headers={"Cookie": carol_cookie})
        assert published.status_code == 200, published.text
        boot = raw_boot(site, carol_cookie, "report")

        def served(_: int) -> tuple[Client, int | None]:
            """Open a socket as carol; it and the worker holding it, once it answered her event."""
            raw = Client(site.url, boot)
            assert whoami(raw)["id"] == "carol"  # run by the worker that has the callback
            return raw, connection_holder(site.port, raw.ws.local_address[1])

        # bursts of concurrent connects, kept open (a worker busy with hers leaves the next to
        # the other), until both workers hold some (bounded)
        opened_raws: list[tuple[Client, int | None]] = []
        try:
            for _ in range(8):
                with ThreadPoolExecutor(8) as pool:
                    opened_raws += pool.map(served, range(8))
                if len({pid for _, pid in opened_raws} - {None}) == 2:
                    break
        finally:
            for raw, _ in opened_raws:
                raw.close()
        holders = {pid for _, pid in opened_raws}
        assert len(holders - {None}) == 2, holders  # (None: a socket /proc did not show in time)

        visitor.sign_in(site, "/widget/board", "alice")
        alice_cookie = visitor.cookie(site)
        res = httpx.get(site.url + "/widget/report", headers={"Cookie": alice_cookie})
        assert res.status_code == 403
        as_alice = {**boot, "cookie": alice_cookie}

        def refused(_: int) -> int | None:
            raw = Client(site.url, as_alice)
            try:
                return raw.close_code()
            finally:
                raw.close()

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(refused, range(16)))
        assert codes == [4003] * 16
    finally:
        carol.close()


def test_logout_closes_her_sockets_on_every_worker_within_five_seconds(
    site: Server, visitor: Visitor
) -> None:
    page = visitor.sign_in(site, "/widget/board", "alice")
    assert page.evaluate(WHOAMI)["id"] == "alice"
    (browser_socket,) = [
        ws for ws in visitor.sockets if "/ws/board" in ws.url and not ws.is_closed()
    ]
    cookie = visitor.cookie(site)
    boot = raw_boot(site, cookie)
    # raw sockets of hers until both worker processes hold at least one (bounded)
    raws: list[tuple[Client, int]] = []
    try:
        for _ in range(5):  # bursts of concurrent connects, so a busy worker leaves some
            with ThreadPoolExecutor(8) as pool:
                raws += pool.map(lambda _: opened(site, boot), range(8))
            if len({pid for _, pid in raws}) == 2:
                break
        assert len({pid for _, pid in raws}) == 2, f"all {len(raws)} sockets on one worker"

        def closed(raw: Client) -> tuple[int | None, float]:
            code = raw.close_code(timeout=LOGOUT_CLOSE_LIMIT + 2)
            return code, time.monotonic() - start

        page_closed: list[float] = []
        browser_socket.on("close", lambda _: page_closed.append(time.monotonic() - start))
        with ThreadPoolExecutor(len(raws)) as pool:
            start = time.monotonic()
            waits = [pool.submit(closed, raw) for raw, _ in raws]  # each waits for its close
            with browser_socket.expect_event("close", timeout=(LOGOUT_CLOSE_LIMIT + 2) * 1000):
                out = page.evaluate(LOGOUT)
            results = [w.result() for w in waits]
    finally:
        for raw, _ in raws:
            raw.close()
    assert out["status"] == 200 and out["body"]["signedIn"] is False
    assert [code for code, _ in results] == [4001] * len(raws)
    raw_elapsed = max(elapsed for _, elapsed in results)
    browser_elapsed = page_closed[0]
    each = ", ".join(f"pid {pid}: {t:.2f}s" for (_, pid), (_, t) in zip(raws, results, strict=True))
    print(f"\nlogout closed raw sockets ({each}), the page's in {browser_elapsed:.2f}s")
    assert raw_elapsed < LOGOUT_CLOSE_LIMIT, raw_elapsed
    assert browser_elapsed < LOGOUT_CLOSE_LIMIT, browser_elapsed

    # her old cookie opens nothing any more: no page (it says she signed out), no socket
    res = httpx.get(site.url + "/widget/board", headers={"Cookie": cookie}, follow_redirects=False)
    assert res.status_code == 401 and "You signed out" in res.text
    assert 'href="/auth/login?next=/widget/board"' in res.text
    old = Client(site.url, boot)
    try:
        assert old.close_code() == 4001
    finally:
        old.close()
    status = httpx.get(site.url + "/auth/status", headers={"Cookie": cookie}).json()
    assert status["signedIn"] is False


def test_after_logout_the_page_offers_sign_in_instead_of_signing_her_in_unasked(
    site: Server, visitor: Visitor, oidc_provider
) -> None:
    page = visitor.sign_in(site, "/widget/board", "alice")
    assert page.evaluate(WHOAMI)["id"] == "alice"
    asked = len(visitor.authorizations)
    out = page.evaluate(LOGOUT)
    # the provider's own session goes on: pywry says where to end it (RP-initiated logout)
    end_url = out["body"]["endSessionUrl"]
    assert end_url.startswith(oidc_provider.issuer + "/session/end?")
    assert parse_qs(urlsplit(end_url).query)["id_token_hint"][0].count(".") == 2
    # the page's socket closed with 4001, the bridge reloaded: a "signed out" page, not a silent
    # round trip through the provider that would sign her straight back in
    page.wait_for_selector("#pywry-sign-in", timeout=15_000)
    assert "You signed out" in (page.text_content("#pywry-auth-message") or "")
    assert len(visitor.authorizations) == asked
    # "Sign in again" goes through the provider, whose session is still on: back without a form
    page.click("#pywry-sign-in")
    wait_at(page, site.url + "/widget/board")
    assert page.evaluate(WHOAMI)["id"] == "alice"
    assert len(visitor.authorizations) == asked + 1
    # ending the provider's session as well: the next sign-in asks for her login again
    again = page.evaluate(LOGOUT)["body"]["endSessionUrl"]
    page.goto(again)
    page.click("button[name=logout][value=yes]")
    page.wait_for_load_state()
    page.goto(site.url + "/widget/board")
    page.click("#pywry-sign-in")
    fill_login(page, "alice")
    wait_at(page, site.url + "/widget/board")
    assert page.evaluate(WHOAMI)["id"] == "alice"


def test_a_replayed_callback_is_refused_with_a_plain_page(site: Server, visitor: Visitor) -> None:
    page = visitor.sign_in(site, "/widget/board", "alice")
    assert len(visitor.callbacks) == 1
    used = visitor.callbacks[0]
    assert parse_qs(urlsplit(used).query)["state"]
    res = page.goto(used)
    assert res is not None and res.status == 400
    text = page.text_content("#pywry-auth-message") or ""
    assert "unknown, expired or already used" in text
    no_traceback(page.content())
    # and from anywhere else (no cookie), the same plain refusal
    res2 = httpx.get(used)
    assert res2.status_code == 400 and "already used" in res2.text
    no_traceback(res2.text)
    # the replay signed nobody out
    assert (
        httpx.get(site.url + "/widget/board", headers={"Cookie": visitor.cookie(site)}).status_code
        == 200
    )


def test_next_pointing_off_site_lands_on_the_sites_home(site: Server, visitor: Visitor) -> None:
    page = visitor.sign_in(
        site, "/auth/login?next=https%3A%2F%2Fevil.example%2F", "alice", lands="/"
    )
    assert page.text_content("#user") == "alice"
    # signed in at the provider now: these come straight back, to the home page as well
    for evil in ("//evil.example/x", "/\\evil.example", "https:evil.example"):
        page.goto(site.url + "/auth/login?next=" + quote(evil, safe=""))
        wait_at(page, site.url + "/")
    assert not [url for url in visitor.outside if "evil.example" in url]
    assert urlsplit(page.url).hostname == "127.0.0.1"


def test_a_sign_in_the_user_cancels_at_the_provider_says_what_failed(
    site: Server, visitor: Visitor
) -> None:
    page = visitor.page
    page.goto(site.url + "/widget/board")
    page.wait_for_selector("input[name=login]", timeout=15_000)
    with page.expect_response(lambda r: "/auth/callback" in r.url) as info:
        page.click("text=[ Cancel ]")
    assert info.value.status == 400
    query = parse_qs(urlsplit(info.value.url).query)
    assert query["error"] == ["access_denied"]
    text = page.text_content("#pywry-auth-message") or ""
    assert "access_denied" in text and query["error_description"][0] in text
    no_traceback(page.content())

    # the same answer to a hand-made one; the description is shown as text, never as markup
    res = httpx.get(
        site.url + "/auth/callback",
        params={"error": "access_denied", "error_description": "<b>no</b> thanks", "state": "x"},
    )
    assert res.status_code == 400
    assert "access_denied" in res.text and "&lt;b&gt;no&lt;/b&gt; thanks" in res.text
    no_traceback(res.text)
