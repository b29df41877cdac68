"""How adapters hand the host framework's signed-in user to the core.

An adapter puts a `User` (or None) under `USER_KEY` in the ASGI scope or WSGI environ it passes
on; the request builders read it from there. `ask_identify` runs the `identify=` option, which
takes the framework's own request object.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .users import User

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("pywry.identity")

USER_KEY = "pywry.user"


def ask_identify(app: App, request: Any) -> User | None:
    """What the app's `identify=` callable says of `request` (a failing one says nobody)."""
    identify = app.identify
    if identify is None:
        return None
    try:
        found = identify(request)
    except Exception:  # noqa: BLE001 - a broken identify lets nobody in, it never crashes
        log.exception("identify= raised; treating the request as anonymous")
        return None
    if found is not None and not isinstance(found, User):
        log.error("identify= returned %r, not a pywry.auth.User or None", found)
        return None
    return found


def end_host_session(app: App, cookies: str | None) -> bool:
    """The host framework signed a browser out: end its pywry session on every worker too.

    `cookies` is the `Cookie` header of the logout request. Its open sockets and streams close
    (here at once, elsewhere within `WATCH_INTERVAL` seconds) and the session's values go, so
    the next person to sign in on that browser starts afresh. False: nothing to end.
    """
    if not app.access.enabled:
        return False
    sid = app.session_in(cookies)
    if sid is None:
        return False
    app.access.end_session_blocking(sid)
    log.info("the host signed a browser out; its pywry session ended")
    return True


def user_in(carrier: Mapping[str, Any]) -> User | None:
    """The user an adapter put in a scope or environ."""
    found = carrier.get(USER_KEY)
    return found if isinstance(found, User) else None
