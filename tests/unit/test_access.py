"""Access control on one App, no servers: who a request is, which widgets let them in, and every
forged, expired or foreign credential refused."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pywry.auth import User, current_user, issue_token, protect, sign_out
from pywry.config import ConfigError, PyWrySettings
from pywry.core.app import App, set_default_app
from pywry.core.http import Request
from pywry.core.protocol import CLOSE_BAD_ORIGIN, CLOSE_BAD_TOKEN
from pywry.core.signin import safe_next
from pywry.inline import show
from tests.support import run_async

SECRET = "s" * 40


def settings(**deploy: object) -> PyWrySettings:
    return PyWrySettings(deploy={"auth_enabled": True, "auth_secret": SECRET, **deploy})


@pytest.fixture
def app() -> Iterator[App]:
    eng = App(settings(admin_users=["root"]))
    set_default_app(eng)
    try:
        yield eng
    finally:
        set_default_app(None)


def who(app: App, **headers: str) -> User | None:
    req = Request("GET", "/widget/w", headers={k.lower(): v for k, v in headers.items()})
    sid = app.session_in(req.header("cookie"))
    req.session = sid or ""
    return run_async(app.access.user(req))


def test_a_bearer_token_names_its_user_with_default_and_admin_roles(app: App) -> None:
    alice = who(app, Authorization=f"Bearer {issue_token('alice', ['analyst'])}")
    assert alice is not None and alice.id == "alice"
    assert alice.roles == {"analyst", "viewer"}
    root = who(app, Authorization=f"Bearer {issue_token('root')}")
    assert root is not None and "admin" in root.roles


def test_forged_expired_and_foreign_tokens_are_nobody(app: App) -> None:
    good = issue_token("alice", ttl=60)
    payload, _, mac = good.rpartition(".")
    assert who(app, Authorization=f"Bearer {payload}.{mac[:-3]}abc") is None  # forged signature
    assert who(app, Authorization=f"Bearer {payload[:-2]}xx.{mac}") is None  # edited payload
    other = App(settings(auth_secret="t" * 40))
    assert who(app, Authorization=f"Bearer {other.access.issue('alice')}") is None
    short = issue_token("alice", ttl=1)
    deadline = time.time() + 5
    while who(app, Authorization=f"Bearer {short}") is not None and time.time() < deadline:
        time.sleep(0.1)
    assert who(app, Authorization=f"Bearer {short}") is None  # expired
    assert who(app, Authorization="Basic YWxpY2U6cHc=") is None
    assert who(app, Authorization="Bearer") is None


def test_a_session_cookie_is_signed_and_a_forged_one_is_a_new_session(app: App) -> None:
    req = Request("GET", "/widget/w")
    sid, headers = app.visitor(req)
    cookie = headers["Set-Cookie"].split(";")[0]
    value = cookie.split("=", 1)[1]
    assert value.startswith(sid + ".") and app.session_in(cookie) == sid
    assert app.session_in(f"pywry_session={sid}") is None  # unsigned: forged
    assert app.session_in(f"pywry_session={sid}.{'A' * 43}") is None  # wrong signature
    other = App(settings(auth_secret="t" * 40))
    assert app.session_in(f"pywry_session={other.access.cookie_value(sid)}") is None
    forged = Request("GET", "/widget/w", headers={"cookie": f"pywry_session={sid}"})
    new_sid, new_headers = app.visitor(forged)
    assert new_sid != sid and "Set-Cookie" in new_headers


def test_a_signed_in_session_names_its_user_until_it_signs_out(app: App) -> None:
    sid, headers = app.visitor(Request("GET", "/"))
    cookie = headers["Set-Cookie"].split(";")[0]
    assert who(app, Cookie=cookie) is None
    run_async(app.access.sign_in(sid, User("bob", frozenset({"ops"}))))
    bob = who(app, Cookie=cookie)
    assert bob is not None and bob.id == "bob" and bob.roles == {"ops", "viewer"}
    run_async(app.access.end_session(sid))
    assert who(app, Cookie=cookie) is None


def test_sign_out_ends_every_sign_in_and_token_of_that_user_and_only_before_it(app: App) -> None:
    """`sign_out("bob")`: both of bob's browsers and his token stop working; carol is untouched;
    a sign-in or token of bob's made afterwards works."""
    cookies = {}
    for name in ("bob-laptop", "bob-phone", "carol"):
        sid, headers = app.visitor(Request("GET", "/"))
        cookies[name] = headers["Set-Cookie"].split(";")[0]
        user = "carol" if name == "carol" else "bob"
        run_async(app.access.sign_in(sid, User(user, frozenset())))
    token = issue_token("bob", ["ops"])
    assert who(app, Authorization=f"Bearer {token}") is not None
    sign_out("bob")
    assert who(app, Cookie=cookies["bob-laptop"]) is None
    assert who(app, Cookie=cookies["bob-phone"]) is None
    assert who(app, Authorization=f"Bearer {token}") is None
    carol = who(app, Cookie=cookies["carol"])
    assert carol is not None and carol.id == "carol"
    later = who(app, Authorization=f"Bearer {issue_token('bob', ['ops'])}")
    assert later is not None and later.id == "bob"
    sid = app.session_in(cookies["bob-laptop"])
    assert sid is not None
    run_async(app.access.sign_in(sid, User("bob", frozenset())))
    again = who(app, Cookie=cookies["bob-laptop"])
    assert again is not None and again.id == "bob"


def test_a_per_visitor_widget_is_for_the_user_it_was_made_for(app: App) -> None:
    """Made in alice's request: bob, signed in later on the same browser (same session), may not
    open it; alice may; a shared widget has no owner."""
    from pywry.core.context import request_scope

    alice = app.access.complete(User("alice", frozenset()))
    bob = app.access.complete(User("bob", frozenset()))
    with request_scope(app, "/", True, "sess-1", alice):
        mine = app.require(show("<p>mine</p>", per_visitor=True).label)
    assert mine.user == "alice"
    assert app.access.refusal(mine, alice) is None
    assert app.access.refusal(mine, bob) == CLOSE_BAD_ORIGIN
    assert app.access.refusal(mine, None) == CLOSE_BAD_TOKEN
    shared = app.require(show("<p>ours</p>", label="ours").label)
    assert shared.user == "" and app.access.refusal(shared, bob) is None


def test_widget_rules_roles_admin_and_access_callables(app: App) -> None:
    anyone = show("<p>a</p>", label="anyone")
    admins = show("<p>b</p>", label="admins", roles=["admin"])
    analysts = show("<p>c</p>", label="analysts", roles=["analyst", "ops"])
    picky = show("<p>d</p>", label="picky", access=lambda u: u.id.startswith("a"))
    broken = show("<p>e</p>", label="broken", access=lambda u: 1 / 0)
    alice = app.access.complete(User("alice", frozenset({"analyst"})))
    root = app.access.complete(User("root"))
    bob = app.access.complete(User("bob"))

    def code(handle: object, user: User | None) -> int | None:
        return app.access.refusal(app.require(handle.label), user)  # type: ignore[attr-defined]

    assert code(anyone, None) == CLOSE_BAD_TOKEN
    assert code(anyone, bob) is None
    assert code(admins, alice) == CLOSE_BAD_ORIGIN and code(admins, root) is None
    assert code(analysts, alice) is None and code(analysts, bob) == CLOSE_BAD_ORIGIN
    assert code(analysts, root) is None  # admin passes every role check
    assert code(picky, alice) is None and code(picky, bob) == CLOSE_BAD_ORIGIN
    assert code(broken, alice) == CLOSE_BAD_ORIGIN  # a rule that raises refuses


def test_with_access_control_off_nothing_is_asked() -> None:
    eng = App(PyWrySettings())
    widget = eng.add_widget("<p>x</p>", label="w", roles=["admin"])
    assert eng.access.refusal(widget, None) is None
    sid, headers = eng.visitor(Request("GET", "/"))
    assert headers["Set-Cookie"].startswith(f"pywry_session={sid};")  # unsigned, as before


def test_protect_marks_a_page_factory_and_bad_rules_are_errors(app: App) -> None:
    def report() -> None: ...

    assert protect(report, roles=["analyst"]) is report
    assert report.pywry_roles == ("analyst",)  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="list of role names"):
        show("<p>x</p>", roles="admin")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        show("<p>x</p>", roles=[""])
    with pytest.raises(TypeError, match="access must be a callable"):
        show("<p>x</p>", access="admin")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        issue_token("alice", ttl=0)


def test_current_user_is_the_sender_in_a_callback(app: App) -> None:
    from tests.unit.test_visitors import fire

    seen: list[object] = []
    show(
        "<p>x</p>",
        label="w",
        callbacks={"app:x": lambda data, kind, label: seen.append(current_user())},
    )
    widget = app.require("w")
    from pywry.core.protocol import Incoming

    alice = User("alice")
    run_async(app.dispatch(widget, Incoming("app:x", {}, 1, "w"), lambda _: None, "c", "s", alice))
    fire(app, "w", "app:x")  # an event with no user
    assert seen == [alice, None]
    assert current_user() is None  # outside callbacks and requests


def test_a_missing_secret_with_a_shared_backend_or_workers_stops_start_up(tmp_path) -> None:
    for extra in (
        {"state_backend": "sqlite", "sqlite_path": str(tmp_path / "s.db")},
        {"state_backend": "redis"},
    ):
        with pytest.raises(ConfigError, match="PYWRY_DEPLOY__AUTH_SECRET"):
            App(PyWrySettings(deploy={"auth_enabled": True, **extra}))
    with pytest.raises(ConfigError, match="AUTH_SECRET"):
        App(PyWrySettings(server={"workers": 2}, deploy={"auth_enabled": True}))
    with pytest.raises(ConfigError, match="auth_secret"):
        PyWrySettings(deploy={"auth_secret": "short"})
    App(PyWrySettings(deploy={"auth_enabled": True}))  # one process: a secret of its own


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/widget/board?x=1", "/widget/board?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        (None, "/"),
    ],
)
def test_next_only_goes_to_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target, "") == expected
