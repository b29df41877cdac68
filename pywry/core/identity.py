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


def user_in(carrier: Mapping[str, Any]) -> User | None:
    """The user an adapter put in a scope or environ."""
    found = carrier.get(USER_KEY)
    return found if isinstance(found, User) else None
