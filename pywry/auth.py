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
from .core.identity import user_key
from .core.users import ADMIN, User, check_roles

__all__ = ["ADMIN", "User", "current_user", "issue_token", "protect", "sign_out"]

F = TypeVar("F", bound=Callable[..., Any])


def current_user(app: App | None = None) -> User | None:
    """The signed-in user who sent the event being handled, or whose request is being served."""
    ev = current_event()
    if ev is not None:
        return ev.user
    info = (app or default_app()).request_info()
    return None if info is None else info.user


def sign_out(user_id: str, *, app: App | None = None) -> None:
    """Sign `user_id` out of pywry everywhere: for a host logout view, or to shut a user out.

    Every widget connection of that user, on every worker and device, closes within seconds
    (their pages reload and ask the host again); their pywry sign-ins and bearer tokens from
    before now open nothing more. Django's and Flask-Login's logouts need no call: they close
    the connections of the browser that logged out by themselves.
    """
    served = app or default_app()
    if served.access.enabled:
        served.access.end_blocking(user_key(str(user_id)))


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
