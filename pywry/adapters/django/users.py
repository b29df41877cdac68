"""Django's signed-in user as pywry's: the user name as id, groups as roles, `admin` for
superusers; for WebSockets under ASGI, found from the session cookie as Django would."""

from __future__ import annotations

from http.cookies import SimpleCookie
from importlib import import_module
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ...core.users import ADMIN, User


def pywry_user(user: Any) -> User | None:
    """A Django user (`request.user`) as a `pywry.auth.User`, or None when anonymous."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    name = user.get_username() if hasattr(user, "get_username") else str(user)
    roles: set[str] = set()
    groups = getattr(user, "groups", None)
    if groups is not None:
        roles.update(str(g) for g in groups.values_list("name", flat=True))
    if getattr(user, "is_superuser", False):
        roles.add(ADMIN)
    return User(str(name), frozenset(roles))


def request_user(request: HttpRequest) -> User | None:
    """The user Django's `AuthenticationMiddleware` put on `request`, if any."""
    return pywry_user(getattr(request, "user", None))


def request_login(request: HttpRequest) -> str:
    """Which Django login `request` is signed in with: its session key ("" when none).

    Django's logout signal names the same key, so pywry closes what that login opened.
    """
    return str(getattr(getattr(request, "session", None), "session_key", None) or "")


def scope_user(scope: dict[str, Any]) -> tuple[User | None, str]:
    """The user whose Django session cookie a WebSocket handshake carries, and its session key
    (blocking: it reads the session store)."""
    if "django.contrib.auth" not in settings.INSTALLED_APPS:
        return None, ""
    from django.contrib.auth import get_user  # noqa: PLC0415 - needs the app registry

    raw = b"; ".join(v for k, v in scope.get("headers", ()) if k == b"cookie").decode("latin-1")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header means no session
        return None, ""
    morsel = jar.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None, ""
    engine = import_module(settings.SESSION_ENGINE)
    request = HttpRequest()
    request.session = engine.SessionStore(morsel.value)
    user = pywry_user(get_user(request))  # type: ignore[arg-type]
    return user, request_login(request) if user is not None else ""
