"""Django under ASGI: `application(get_asgi_application())` adds pywry's WebSocket transport.

    # asgi.py
    from django.core.asgi import get_asgi_application
    from pywry.adapters.django.asgi import application as with_pywry
    application = with_pywry(get_asgi_application())

WebSocket scopes under the pywry URL include go to the core's ASGI app (after Django's
`ALLOWED_HOSTS` check); everything else goes to Django, marked so that pywry's pages offer the
bridge a WebSocket. Lifespan events reach pywry (Django has none).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from ...core.asgi import ASGI, Receive, Scope, Send
from ...core.context import request_scope
from ...core.identity import LOGIN_KEY, USER_KEY
from .base import mount_base
from .conf import get_app
from .users import scope_user

__all__ = ["application"]


def _host_allowed(scope: Scope) -> bool:
    hosts = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"]
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port = split_domain_port(hosts[0] if len(hosts) == 1 else "")
    return bool(domain) and validate_host(domain, allowed)


def application(django_app: ASGI) -> ASGI:
    """Wrap Django's ASGI application: pywry WebSockets here, everything else to Django."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        pywry = get_app()
        if scope["type"] == "lifespan":
            await pywry.asgi(scope, receive, send)
            return
        pywry.bind_loop()
        base = mount_base(pywry)
        if scope["type"] == "websocket":
            if base is None or not scope.get("path", "").startswith(base + "/"):
                await send({"type": "websocket.close", "code": 1000})  # Django has no sockets
            elif not _host_allowed(scope):
                await send({"type": "websocket.close", "code": 1008})  # before the handshake
            else:
                inner: dict[str, Any] = {**scope, "root_path": base}
                if pywry.access.enabled:
                    user, login = await sync_to_async(scope_user)(inner)
                    inner[USER_KEY], inner[LOGIN_KEY] = user, login
                await pywry.asgi(inner, receive, send)
            return
        marked: dict[str, Any] = {**scope, "pywry.websocket": True}
        peer = scope.get("client")
        with request_scope(None, base, True, address=str(peer[0]) if peer else ""):
            await django_app(marked, receive, send)

    return app
