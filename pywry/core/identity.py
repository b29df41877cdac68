"""How adapters hand the host framework's signed-in user to the core.

An adapter puts a `User` (or None) under `USER_KEY` in the ASGI scope or WSGI environ it passes
on, and what names that user's login in the host (a Django session key, ...) under `LOGIN_KEY`;
the request builders read both from there. When the host logs the user out, the adapter calls
`end_host_session` with the same login: the connections it opened close on every worker.
`ask_identify` runs the `identify=` option, which takes the framework's own request object.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .users import User

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("pywry.identity")

USER_KEY = "pywry.user"
LOGIN_KEY = "pywry.login"


def _digest(kind: str, raw: str) -> str:
    """A key to file `raw` under in the session store; a digest, so the raw value is never kept
    (a Django session key is a credential)."""
    return f"{kind}~" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def login_key(raw: str) -> str:
    """The key of a host login (`raw`: what the adapter put under `LOGIN_KEY`); "" for none."""
    return _digest("login", raw) if raw else ""


def user_key(user_id: str) -> str:
    """The key `pywry.auth.sign_out(user_id)` ends: every connection and session of that user."""
    return _digest("user", user_id)


def login_in(carrier: Mapping[str, Any]) -> str:
    """The key of the host login an adapter put in a scope or environ ("" when none)."""
    found = carrier.get(LOGIN_KEY)
    return login_key(found) if isinstance(found, str) else ""


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


def end_host_session(app: App, cookies: str | None, login: str = "") -> bool:
    """The host framework signed a browser out: end what pywry holds of it on every worker too.

    `login` is what the adapter put under `LOGIN_KEY` for that login: the connections it opened
    close (here at once, elsewhere within `WATCH_INTERVAL` seconds). `cookies` is the `Cookie`
    header of the logout request: when it carries pywry's session cookie (a logout route under
    pywry's base path), that session's values go too. False: nothing to end.
    """
    if not app.access.enabled:
        return False
    keys = [login_key(login)] if login else []
    sid = app.session_in(cookies)
    for key in keys:
        app.access.end_blocking(key)
    if sid is not None:
        app.access.end_blocking(sid, session=True)
    if keys or sid is not None:
        log.info("the host signed a browser out; its pywry connections close")
    return bool(keys) or sid is not None


def user_in(carrier: Mapping[str, Any]) -> User | None:
    """The user an adapter put in a scope or environ."""
    found = carrier.get(USER_KEY)
    return found if isinstance(found, User) else None
