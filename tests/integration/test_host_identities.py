"""Each way a user signs in, proven on the example that shows it, started as a real server.

- Django (`examples/django_auth/`): users in a real SQLite database (`manage.py migrate`,
  `manage.py create_demo_users`), signed in through Django's own `LoginView` (the form posted
  with its CSRF token, as a browser does); under gunicorn (WSGI: the HTTP stream) and under
  uvicorn with pywry's ASGI wrapper (WebSockets, the user found from the session cookie).
- Starlette `AuthenticationMiddleware` (`examples/starlette_auth.py`): a signed login cookie.
- Flask-Login (`examples/flask_login_app.py`) under `gunicorn -k gthread`: the HTTP stream.
- `identify=` (`examples/aiohttp_identify.py`): an aiohttp host with sessions of its own.
- Bearer tokens (`examples/bearer_tokens.py`, `examples/bearer_client.py`): no cookies at all.

Every example serves the "whoami" widget (its callback answers with `current_user()`) and the
"admin-only" widget (`roles=["admin"]`). With access control off, the same examples serve
both to anyone, as before. All servers start together (two at most per example).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pywry.config import PyWrySettings
from pywry.core.app import App
from tests.integration.sseclient import StreamClient
from tests.integration.wsclient import Client, bootstrap
from tests.support import EXAMPLES, ROOT, Server, clean_env, free_port, wait_http

pytestmark = pytest.mark.integration

DJANGO = EXAMPLES / "django_auth"
SECRET = "a-test-secret-of-more-than-thirty-two-characters"
OTHER_SECRET = "another-secret-of-more-than-thirty-two-characters"
PASSWORDS = {"alice": "alice-password", "root": "root-password"}
ALICE = {"id": "alice", "roles": ["analyst", "viewer"]}  # her group/scope + DEFAULT_ROLES
ROOT_USER = {"id": "root", "roles": ["admin", "viewer"]}
NOBODY = {"id": None, "roles": []}  # current_user() with access control off


def _uvicorn(app: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--log-level", "warning"]


def _gunicorn(app: str) -> list[str]:
    argv = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", "1"]
    argv += ["--log-level", "warning", "--graceful-timeout", "1"]
    from gunicorn.config import KNOWN_SETTINGS

    if any("--no-control-socket" in (s.cli or ()) for s in KNOWN_SETTINGS):
        argv.append("--no-control-socket")  # several gunicorns at once would share it
    return [*argv, app]


@dataclass(frozen=True)
class Host:
    """How to start one example: its command, folder, transport and login form."""

    argv: list[str]
    cwd: Path
    transport: str  # "ws" or "http": what its pages use
    login: str = ""  # the host's login route ("" for bearer tokens)
    csrf: str = ""  # the login form's CSRF field, if it has one
    logout: str = "/logout"  # the host's logout route (a POST)
    one_browser: bool = False  # its logout closes that browser's widgets only (not all hers)
    port_flag: bool = True  # gunicorn/uvicorn take the port on the command line
    env: dict[str, str] = field(default_factory=dict)


HOSTS = {
    "django-wsgi": Host(
        _gunicorn("authproject.wsgi:application"), DJANGO, "http", "/accounts/login/",
        "csrfmiddlewaretoken", "/accounts/logout/", True,
    ),
    "django-asgi": Host(
        _uvicorn("authproject.asgi:application"), DJANGO, "ws", "/accounts/login/",
        "csrfmiddlewaretoken", "/accounts/logout/", True,
    ),
    "starlette": Host(_uvicorn("starlette_auth:app"), EXAMPLES, "ws", "/login"),
    "flask": Host(
        _gunicorn("flask_login_app:app"), EXAMPLES, "http", "/login", "csrf_token",
        one_browser=True, env={"PYWRY_DEPLOY__AUTH_SECRET": SECRET},
    ),
    "identify": Host(
        [sys.executable, "aiohttp_identify.py"], EXAMPLES, "ws", "/login", port_flag=False
    ),
    "bearer": Host(
        [sys.executable, "bearer_tokens.py"], EXAMPLES, "ws", port_flag=False,
        env={"PYWRY_DEPLOY__AUTH_SECRET": SECRET},
    ),
}  # fmt: skip
SIGN_IN = ["django-wsgi", "django-asgi", "starlette", "flask", "identify"]


def _command(host: Host, port: int) -> list[str]:
    if not host.port_flag:
        return host.argv
    flag = ["--port", str(port)] if "uvicorn" in host.argv else ["-b", f"127.0.0.1:{port}"]
    return [*host.argv[:-1], *flag, host.argv[-1]] if "gunicorn" in host.argv else host.argv + flag


def _wanted(request: pytest.FixtureRequest) -> set[str]:
    """The servers the collected tests of this module use (`-k flask` starts Flask only)."""
    names = set()
    for item in request.session.items:
        if item.module is request.module:
            callspec = getattr(item, "callspec", None)
            name = callspec.params.get("name") if callspec else None
            if name:
                names.add(name)
            else:  # test_django_... starts both Django servers
                names.update(n for n in HOSTS if n.split("-")[0] in item.name)
    return names


@pytest.fixture(scope="module")
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """Every example twice (access control on, and `-off`), started together; Django's users
    are created in a fresh SQLite database meanwhile."""
    logs = tmp_path_factory.mktemp("identities")
    # Django's settings with a fast password hasher (as Django advises for tests): the rest is
    # the example's own
    (logs / "fast_hashes.py").write_text(
        "from authproject.settings import *  # noqa: F403\n"
        'PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]\n'
    )
    django = {
        "PYTHONPATH": f"{ROOT}:{logs}",
        "DJANGO_SETTINGS_MODULE": "fast_hashes",
        "DJANGO_DB_PATH": str(logs / "django.sqlite3"),
    }
    wanted = _wanted(request)
    started: dict[str, Server] = {}
    try:
        for name, host in HOSTS.items():
            for auth in ("true", "false"):
                key = name if auth == "true" else f"{name}-off"
                if key not in wanted:
                    continue
                port = free_port()
                env = clean_env(
                    PYTHONPATH=str(ROOT),
                    PYWRY_SERVER__HOST="127.0.0.1",
                    PYWRY_SERVER__PORT=str(port),
                    PYWRY_SERVER__ACCESS_LOG="false",
                    PYWRY_DEPLOY__AUTH_ENABLED=auth,
                    **host.env,
                )
                if name.startswith("django"):
                    env.update(django)
                log_path = logs / f"{key}.log"
                with open(log_path, "wb") as out:
                    proc = subprocess.Popen(
                        _command(host, port), env=env, cwd=host.cwd, stdout=out,
                        stderr=subprocess.STDOUT,
                    )  # fmt: skip
                started[key] = Server(proc, f"http://127.0.0.1:{port}", log_path)
        if any(key.startswith("django") for key in started):
            # `manage.py migrate` then `manage.py create_demo_users`, in one process
            script = (
                "import django; django.setup(); from django.core.management import call_command; "
                "call_command('migrate', verbosity=0); call_command('create_demo_users')"
            )
            subprocess.run(
                [sys.executable, "-c", script], env=clean_env(**django), cwd=DJANGO, check=True,
                capture_output=True, timeout=60,
            )  # fmt: skip
        for srv in started.values():
            wait_http(srv.url + "/pywry/health", srv.proc, timeout=30)
        yield started
    except BaseException:
        for key, srv in started.items():
            sys.stderr.write(f"--- {key}\n{srv.log()[-3000:]}\n")
        raise
    finally:
        for srv in started.values():  # all at once, then wait for each
            if srv.proc.poll() is None:
                srv.proc.terminate()
        for srv in started.values():
            srv.stop()


# -- a browser (cookies) or a program (a bearer token, no cookies) ------------------------------
class Visitor:
    """One user agent: a cookie jar like a browser's, or only an `Authorization` header."""

    def __init__(self, server: Server, transport: str, bearer: str | None = None) -> None:
        self.url = server.url
        self.transport = transport
        self.headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        self.http = httpx.Client(base_url=server.url, timeout=10, headers=self.headers)
        self.cookies = bearer is None  # a program with a token keeps no cookies

    def get(self, path: str) -> httpx.Response:
        if self.cookies:
            return self.http.get(path)
        return httpx.get(self.url + path, headers=self.headers, timeout=10)

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)

    def sign_in(self, host: Host, user: str) -> None:
        """Post the host's login form as a browser does (with its CSRF token, if any)."""
        form = {"username": user, "password": PASSWORDS[user], "next": "/"}
        if host.csrf:
            page = self.http.get(host.login)
            found = re.search(rf'name="{host.csrf}" value="([^"]+)"', page.text)
            assert found, f"no {host.csrf} in the login form:\n{page.text}"
            form[host.csrf] = found.group(1)
        wrong = self.http.post(host.login, data={**form, "password": "wrong"})
        assert wrong.status_code in (200, 403), wrong.status_code  # the form again
        res = self.http.post(host.login, data=form)
        assert res.status_code in (302, 303), (res.status_code, res.text[:500])
        assert self.http.get("/").status_code == 200  # the host's own page takes them now

    def log_out(self, host: Host) -> None:
        """Press the host's "Sign out" button (its form, with the CSRF token it carries)."""
        form = {}
        if host.csrf:
            home = self.http.get("/")
            found = re.search(rf'name="{host.csrf}" value="([^"]+)"', home.text)
            token = found.group(1) if found else self.http.cookies.get("csrftoken")
            assert token, f"no {host.csrf} on the home page:\n{home.text[:500]}"
            form[host.csrf] = token
        res = self.http.post(host.logout, data=form)
        assert res.status_code in (302, 303), (res.status_code, res.text[:500])

    def open(self, transport: str) -> Any:
        """An open connection to the whoami widget that the server may end (no reopening)."""
        boot = self.boot()
        if transport == "ws":
            return Client(self.url, boot, headers=self.headers)
        return StreamClient(self.url, boot, reopen=False, headers=self.headers)

    def page(self, label: str) -> httpx.Response:
        return self.get(f"/pywry/widget/{label}")

    def boot(self, label: str = "whoami") -> dict[str, Any]:
        res = self.page(label)
        assert res.status_code == 200, (res.status_code, res.text[:300])
        boot = bootstrap(res.text)
        if self.cookies:
            boot["cookie"] = self.cookie()
        return boot

    def connect(self, boot: dict[str, Any], transport: str | None = None) -> Any:
        if (transport or self.transport) == "ws":
            return Client(self.url, boot, headers=self.headers)
        return StreamClient(self.url, boot, headers=self.headers, keep_cookies=self.cookies)

    def refusal(self, boot: dict[str, Any], transport: str | None = None) -> int | None:
        """The close code (socket) or status (stream) this visitor gets on `boot`'s widget."""
        boot = {k: v for k, v in boot.items() if k != "cookie"}  # another visitor's
        if self.cookies and self.cookie():
            boot["cookie"] = self.cookie()
        if (transport or self.transport) == "ws":
            return Client(self.url, boot, headers=self.headers).close_code()
        stream = StreamClient(
            self.url, boot, reopen=False, headers=self.headers, keep_cookies=False
        )
        stream.close()
        return stream.status

    def post_status(self, boot: dict[str, Any]) -> int:
        """What an event POST with the widget's token but this visitor's identity gets."""
        headers = {**self.headers, "X-PyWry-Token": boot["token"], "X-PyWry-Client": "poster"}
        if self.cookies and self.cookie():
            headers["Cookie"] = self.cookie()
        body = json.dumps({"type": "app:whoami", "data": {}, "id": 1})
        return httpx.post(self.url + boot["events"], content=body, headers=headers).status_code

    def whoami(self, transport: str | None = None) -> dict[str, Any]:
        """Send the whoami event; the callback's `current_user()` comes back."""
        client = self.connect(self.boot(), transport)
        try:
            client.send("app:whoami")
            return dict(client.recv_until("app:you-are")[0]["data"])
        finally:
            client.close()

    def close(self) -> None:
        self.http.close()


def _refused(transport: str) -> tuple[int, int]:
    """(sign in first, not allowed) as this transport says it."""
    return (4001, 4003) if transport == "ws" else (401, 403)


def check_sign_in(server: Server, host: Host, transport: str) -> None:
    """The whole story on one host: anonymous, alice, root."""
    sign_in_first, not_allowed = _refused(transport)
    alice, root, anonymous = (Visitor(server, transport) for _ in range(3))
    try:
        # anonymous: the page is a 401 page (no provider to redirect to)
        page = anonymous.page("whoami")
        assert page.status_code == 401 and "text/html" in page.headers["content-type"]
        assert "Sign-in required" in page.text
        assert anonymous.page("admin-only").status_code == 401

        alice.sign_in(host, "alice")
        assert alice.page("whoami").status_code == 200
        boot = alice.boot()
        assert alice.whoami(transport) == ALICE  # her event ran as her

        # the widget's token alone lets nobody in: it is alice's sign-in that opens it
        assert anonymous.refusal(boot, transport) == sign_in_first
        assert anonymous.post_status(boot) == 401

        # roles=["admin"]: alice is signed in but may not; root may
        refused = alice.page("admin-only")
        assert refused.status_code == 403 and "Not allowed" in refused.text
        root.sign_in(host, "root")
        assert root.page("admin-only").status_code == 200
        assert root.whoami(transport) == ROOT_USER
        admin_boot = root.boot("admin-only")
        assert alice.refusal(admin_boot, transport) == not_allowed  # even with root's token
        assert alice.post_status(admin_boot) == 403
        assert anonymous.refusal(admin_boot, transport) == sign_in_first
        opened = root.connect(admin_boot, transport)
        try:
            ident = opened.send("app:ping")  # no callback: acknowledged all the same
            assert opened.recv_until("pywry:ack")[0]["data"]["id"] == ident
        finally:
            opened.close()
    finally:
        for visitor in (alice, root, anonymous):
            visitor.close()


# -- Django, Starlette, Flask-Login, identify= ----------------------------------------------------
@pytest.mark.parametrize("name", SIGN_IN)
def test_signed_in_through_the_host(servers: dict[str, Server], name: str) -> None:
    """Anonymous: 401 page, socket 4001 / stream 401; alice: her events run as her, the admin
    widget refuses her (403 / 4003); root opens it."""
    host = HOSTS[name]
    check_sign_in(servers[name], host, host.transport)


@pytest.mark.parametrize("name", ["starlette", "identify"])
def test_websocket_hosts_serve_the_http_stream_to_the_same_users(
    servers: dict[str, Server], name: str
) -> None:
    """An ASGI/aiohttp host's pages can also fall back to the HTTP stream: same identities."""
    check_sign_in(servers[name], HOSTS[name], "http")


def test_django_under_asgi_the_stream_too(servers: dict[str, Server]) -> None:
    """Under the ASGI wrapper, the HTTP stream and posts go through Django's own view."""
    check_sign_in(servers["django-asgi"], HOSTS["django-asgi"], "http")


def _answers(client: Any, who: dict[str, Any]) -> None:
    client.send("app:whoami")
    assert client.recv_until("app:you-are")[0]["data"] == who


def _closed_by_server(client: Any, transport: str) -> bool:
    """Whether the server ends this open connection within 5 s (a socket with 4001)."""
    if transport == "ws":
        return bool(client.close_code(timeout=5) == 4001)
    client._thread.join(5)  # reopen=False: the reader stops when the server ends the stream
    return not client._thread.is_alive() and bool(client.stream_ends)


@pytest.mark.parametrize("name", SIGN_IN)
def test_host_logout_closes_her_open_widgets_while_root_keeps_his(
    servers: dict[str, Server], name: str
) -> None:
    """alice has the widget open in two browsers, root in a third. She presses the host's "Sign
    out" in one: its connection closes within 5 s. Django and Flask-Login know which login that
    was, so her other browser stays; the Starlette and aiohttp examples call
    `pywry.auth.sign_out(user)`, which closes all of hers. root's goes on answering."""
    server, host = servers[name], HOSTS[name]
    transport = host.transport
    laptop, phone, root = (Visitor(server, transport) for _ in range(3))
    opened: list[Any] = []
    try:
        for visitor, user in ((laptop, "alice"), (phone, "alice"), (root, "root")):
            visitor.sign_in(host, user)
            opened.append(visitor.open(transport))
        on_laptop, on_phone, on_root = opened
        _answers(on_laptop, ALICE)
        boot = laptop.boot()
        laptop.log_out(host)
        assert _closed_by_server(on_laptop, transport)
        _answers(on_root, ROOT_USER)
        if host.one_browser:
            _answers(on_phone, ALICE)
        else:
            assert _closed_by_server(on_phone, transport)
            assert phone.whoami() == ALICE  # her phone is still signed in to the host
        assert laptop.page("whoami").status_code == 401
        assert laptop.refusal(boot) == _refused(transport)[0]
    finally:
        for client in opened:
            client.close()
        for visitor in (laptop, phone, root):
            visitor.close()


def test_django_logout_ends_access_to_pywry(servers: dict[str, Server]) -> None:
    server = servers["django-wsgi"]
    alice = Visitor(server, "http")
    try:
        alice.sign_in(HOSTS["django-wsgi"], "alice")
        boot = alice.boot()
        csrf = alice.http.cookies.get("csrftoken")
        res = alice.http.post("/accounts/logout/", data={"csrfmiddlewaretoken": csrf})
        assert res.status_code == 302
        assert alice.page("whoami").status_code == 401
        assert alice.refusal(boot) == 401
        assert alice.post_status(boot) == 401
    finally:
        alice.close()


def test_identify_logout_ends_access_to_pywry(servers: dict[str, Server]) -> None:
    """The host forgets its session: identify= says nobody, and pywry refuses at once."""
    server = servers["identify"]
    alice = Visitor(server, "ws")
    try:
        alice.sign_in(HOSTS["identify"], "alice")
        boot = alice.boot()
        assert alice.http.post("/logout").status_code == 303
        assert alice.page("whoami").status_code == 401
        alice.http.cookies.set("host_session", "forged-session-id")
        assert alice.refusal(boot) == 4001
    finally:
        alice.close()


def test_flask_views_see_the_login_or_a_bearer_token_through_current_user(
    servers: dict[str, Server],
) -> None:
    """`pywry.auth.current_user()` in the Flask example's own `/api/me` view: the Flask-Login
    user of a browser, the user of a program's bearer token, nobody otherwise."""
    server = servers["flask"]
    browser = Visitor(server, "http")
    try:
        assert browser.get("/api/me").status_code == 401
        browser.sign_in(HOSTS["flask"], "alice")
        assert browser.get("/api/me").json() == {"id": "alice", "roles": ["analyst", "viewer"]}
    finally:
        browser.close()
    token = _issuer(SECRET).access.issue("carol", ["ops"], 60)
    program = httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"})
    assert program.json() == {"id": "carol", "roles": ["ops", "viewer"]}
    forged = _issuer(OTHER_SECRET).access.issue("carol", ["admin"], 60)
    refused = httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401


# -- bearer tokens --------------------------------------------------------------------------------
def _issuer(secret: str) -> App:
    """An app with `secret`: it signs tokens exactly as the server's own would."""
    return App(PyWrySettings(deploy={"auth_enabled": True, "auth_secret": secret}))


def _expiry(token: str) -> int:
    payload = token.rpartition(".")[0]
    return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


def test_bearer_token_from_the_example_cli_and_client(servers: dict[str, Server]) -> None:
    """`bearer_tokens.py token alice analyst` prints a token; `bearer_client.py` uses it."""
    server = servers["bearer"]
    env = clean_env(PYTHONPATH=str(ROOT), PYWRY_DEPLOY__AUTH_SECRET=SECRET)
    run = [sys.executable, "bearer_tokens.py", "token", "alice", "analyst", "--ttl", "60"]
    token = subprocess.run(
        run, env=env, cwd=EXAMPLES, check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()
    client = [sys.executable, "bearer_client.py", server.url, token]
    out = subprocess.run(
        client, env=env, cwd=EXAMPLES, check=True, capture_output=True, text=True, timeout=30
    )
    assert json.loads(out.stdout) == ALICE


@pytest.mark.parametrize("transport", ["ws", "http"])
def test_bearer_tokens_without_cookies(servers: dict[str, Server], transport: str) -> None:
    server = servers["bearer"]
    issuer = _issuer(SECRET)
    alice = Visitor(server, transport, issuer.access.issue("alice", ["analyst"], 600))
    root = Visitor(server, transport, issuer.access.issue("root", ["admin"], 600))
    anonymous = Visitor(server, transport)
    try:
        assert anonymous.page("whoami").status_code == 401
        assert alice.whoami() == ALICE  # the socket / stream and posts carry the header only
        boot = alice.boot()
        assert "cookie" not in boot
        assert anonymous.refusal(boot) == _refused(transport)[0]
        assert alice.page("admin-only").status_code == 403
        assert root.whoami() == ROOT_USER
        admin_boot = root.boot("admin-only")
        assert alice.refusal(admin_boot) == _refused(transport)[1]
        assert alice.post_status(admin_boot) == 403
        forged = Visitor(server, transport, _issuer(OTHER_SECRET).access.issue("root", ["admin"]))
        assert forged.page("whoami").status_code == 401  # signed with another secret
        assert forged.refusal(boot) == _refused(transport)[0]
        assert forged.post_status(boot) == 401
        garbage = Visitor(server, transport, "not-a-token")
        assert garbage.page("whoami").status_code == 401
        assert garbage.refusal(boot) == _refused(transport)[0]
    finally:
        for visitor in (alice, root, anonymous):
            visitor.close()


def test_an_expired_bearer_token_is_refused_and_its_socket_closed(
    servers: dict[str, Server],
) -> None:
    """A socket opened with a token closes with 4001 once the token expires (pywry checks
    open connections every 2 s); then the token opens nothing."""
    server = servers["bearer"]
    token = _issuer(SECRET).access.issue("alice", ["analyst"], ttl=2)
    brief = Visitor(server, "ws", token)
    boot = brief.boot()
    client = brief.connect(boot)
    client.send("app:whoami")
    assert client.recv_until("app:you-are")[0]["data"] == ALICE
    assert client.close_code(timeout=10) == 4001  # awaited: the server closes it
    assert time.time() > _expiry(token)
    assert brief.page("whoami").status_code == 401
    assert brief.refusal(boot) == 4001
    assert brief.refusal(boot, "http") == 401
    assert brief.post_status(boot) == 401


# -- access control off: the same examples, as before ---------------------------------------------
@pytest.mark.parametrize("name", [f"{n}-off" for n in HOSTS])
def test_with_access_control_off_pages_open_to_anyone(
    servers: dict[str, Server], name: str
) -> None:
    server = servers[name]
    anonymous = Visitor(server, HOSTS[name.removesuffix("-off")].transport)
    try:
        assert anonymous.page("whoami").status_code == 200
        assert anonymous.page("admin-only").status_code == 200  # roles apply only when on
        assert anonymous.whoami() == NOBODY
        assert anonymous.whoami("http") == NOBODY
    finally:
        anonymous.close()


# -- a real browser --------------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.parametrize("name", ["django-asgi", "flask", "starlette"])
def test_chromium_signs_in_and_the_widget_answers_as_alice(
    servers: dict[str, Server], name: str, page: Any
) -> None:
    """Chromium signs in at the host's form; the embedded widget's bridge connects with the
    browser's own cookies (a WebSocket under Django ASGI and Starlette, the stream under Flask)
    and its button's event comes back as alice."""
    server, host = servers[name], HOSTS[name]
    assert page.goto(server.url + "/pywry/widget/whoami").status == 401
    page.goto(server.url + host.login)
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORDS["alice"])
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    frame = page.frame_locator("iframe[data-pywry-label=whoami]")
    frame.locator("#ask").click()
    answer = frame.locator("#answer")
    answer.filter(has_text="You are alice").wait_for(timeout=10_000)
    assert answer.inner_text() == "You are alice (roles: analyst, viewer)"
    assert page.locator("iframe[data-pywry-label=admin-only]").count() == 0
    assert page.goto(server.url + "/pywry/widget/admin-only").status == 403
