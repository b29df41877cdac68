"""Who is signed in: the user of the event being handled or the request being served.

    from pywry.auth import User, current_user, issue_token, protect

With `PYWRY_DEPLOY__AUTH_ENABLED` on, every pywry route needs a signed-in user: the host
framework's (Starlette `AuthenticationMiddleware`, Django's `request.user`, Flask-Login, aiohttp's
`request["user"]`), an adapter's `identify=` callable, a sign-in through the OpenID Connect or
OAuth2 provider (`PYWRY_OAUTH2__*`, routes under `{base}/auth/`), or a bearer token from
`issue_token`. `show(..., roles=[...])` and `show(..., access=fn)` narrow who may open a widget;
`protect(factory, roles=[...])` does the same for a page factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from .core.app import App, default_app
from .core.events import current_event
from .core.identity import end_host_session
from .core.users import ADMIN, User, check_roles

__all__ = ["ADMIN", "User", "current_user", "end_session", "issue_token", "protect"]

F = TypeVar("F", bound=Callable[..., Any])


def current_user(app: App | None = None) -> User | None:
    """The signed-in user who sent the event being handled, or whose request is being served."""
    ev = current_event()
    if ev is not None:
        return ev.user
    info = (app or default_app()).request_info()
    return None if info is None else info.user


def end_session(request: Any, *, app: App | None = None) -> bool:
    """Call from the host framework's logout view: the browser's pywry session ends as well.

    `request` is the framework's request (Starlette, Flask, Django, aiohttp: anything with
    `headers`). Its open widget sockets and streams close on every worker within seconds and its
    session values are dropped. Django's and Flask-Login's logouts do this by themselves.
    """
    headers = getattr(request, "headers", None)
    if headers is None:
        raise TypeError(f"end_session() takes the logout request, not {request!r}")
    return end_host_session(app or default_app(), headers.get("cookie"))


def issue_token(
    user_id: str, roles: Iterable[str] = (), ttl: float = 3600, *, app: App | None = None
) -> str:
    """A bearer token (`Authorization: Bearer <token>`) for `user_id` with `roles`.

    It is signed with `PYWRY_DEPLOY__AUTH_SECRET` and valid for `ttl` seconds on every worker
    that shares the secret.
    """
    return (app or default_app()).access.issue(user_id, roles, ttl)


def protect(
    factory: F, *, roles: Sequence[str] | None = None, access: Callable[[User], bool] | None = None
) -> F:
    """Mark a page factory so only users with one of `roles` (or passing `access`) may open it."""
    if not callable(factory):
        raise TypeError(f"protect() takes a page factory, not {factory!r}")
    if access is not None and not callable(access):
        raise TypeError(f"access must be a callable taking the user, not {access!r}")
    factory.pywry_roles = check_roles(roles)  # type: ignore[attr-defined]
    factory.pywry_access = access  # type: ignore[attr-defined]
    return factory
