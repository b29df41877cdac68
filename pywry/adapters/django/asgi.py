"""Django under ASGI: `application(get_asgi_application())` adds pywry's WebSocket transport.

    # asgi.py
    from django.core.asgi import get_asgi_application
    from pywry.adapters.django.asgi import application as with_pywry
    application = with_pywry(get_asgi_application())

WebSockets to `{base}/ws/{label}` are served here (a raw ASGI handler around the core `pump`,
after Django's `ALLOWED_HOSTS` check); everything else goes to Django, marked so that pywry pages
tell the bridge a WebSocket is available.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from ...core.adapter import AdapterConfig
from ...core.connection import pump
from .base import mount_base
from .conf import get_config

__all__ = ["application"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _host_allowed(host: str) -> bool:
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


async def _socket(
    cfg: AdapterConfig, scope: Scope, receive: Receive, send: Send, label: str
) -> None:
    """One pywry WebSocket: admission, then frames into the core until either side closes."""
    engine = cfg.engine
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    first = await receive()
    if first["type"] != "websocket.connect":
        return
    if not _host_allowed(headers.get("host", "")):
        await send({"type": "websocket.close", "code": 1008})  # refused before the handshake
        return
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    admission = await cfg.admit_socket_async(
        label, list(scope.get("subprotocols") or ()), query, headers
    )
    await send({"type": "websocket.accept", "subprotocol": admission.subprotocol})
    if admission.widget is None:
        await send({"type": "websocket.close", "code": admission.close_code or 1008})
        return

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    async def close(code: int, reason: str) -> None:
        await send({"type": "websocket.close", "code": code, "reason": reason})

    conn = engine.attach(admission.widget, admission.client, admission.after, send_text, close)
    if conn is None:
        await close(1008, "too many connections")
        return

    async def next_frame() -> str | bytes | None:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    await pump(conn, next_frame)


def application(django_app: ASGIApp) -> ASGIApp:
    """Wrap Django's ASGI application: pywry WebSockets here, everything else to Django."""
    state: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        cfg = get_config()
        cfg.engine.bind_loop()
        if kind == "websocket":
            if "ws" not in state:
                base = mount_base()
                state["ws"] = None if base is None else base + "/ws/"
            prefix = state["ws"]
            path = scope.get("path", "")
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if prefix is not None and path.startswith(prefix) and "/" not in path[len(prefix) :]:
                await _socket(cfg, scope, receive, send, path[len(prefix) :])
                return
            await send({"type": "websocket.close", "code": 1000})  # Django has no sockets
            return
        if kind == "http":
            scope = dict(scope)
            scope["pywry.websocket"] = True
        await django_app(scope, receive, send)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    """Django has no lifespan; answer it so servers do not complain."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            engine = get_config().engine
            aclose = getattr(engine, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # noqa: BLE001 - shutting down anyway
                    pass
            await send({"type": "lifespan.shutdown.complete"})
            return
