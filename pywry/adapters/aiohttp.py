"""aiohttp: a sub-application whose one route hands requests to the core.

    from pywry.adapters.aiohttp import aiohttp_app, start_server
    web_app.add_subapp("/pywry", aiohttp_app())
    start_server([report, summary], port=8080)  # page factories on web.run_app, until Ctrl+C

WebSockets are aiohttp's own (`WebSocketResponse` wrapped as a core `Socket`); everything else
is answered by the core's routes. `show()` in a handler makes a per-visitor widget.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType, web

from ..core.app import App, default_app
from ..core.embed import embed_html
from ..core.http import HttpResponse, Request, base_from, finish, join_base
from ..core.identity import ask_identify
from ..core.routes import match, respond
from ..core.server import STOP_TIMEOUT, listen
from ..core.socket import serve_socket
from ..core.users import User

__all__ = ["aiohttp_app", "embed", "pywry_middleware", "start_server"]

APP = web.AppKey("pywry_app", App)


class _Socket:
    """An aiohttp WebSocket as a `pywry.core.socket.Socket`."""

    def __init__(self, request: web.Request, max_size: int) -> None:
        self.request = request
        self.max_size = max_size
        self.ws: web.WebSocketResponse | None = None

    async def accept(self, subprotocol: str | None, headers: dict[str, str]) -> None:
        protocols = (subprotocol,) if subprotocol else ()
        self.ws = web.WebSocketResponse(protocols=protocols, max_msg_size=self.max_size)
        self.ws.headers.update(headers)
        await self.ws.prepare(self.request)

    async def send(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def receive(self) -> str | bytes | None:
        assert self.ws is not None
        msg = await self.ws.receive()
        if msg.type == WSMsgType.TEXT:
            return str(msg.data)
        if msg.type == WSMsgType.BINARY:
            return bytes(msg.data)
        return None  # close, closing, closed, error

    async def close(self, code: int, reason: str = "") -> None:
        if self.ws is None:
            return  # refused before the handshake: the route answers with a plain 400
        await self.ws.close(code=code, message=reason.encode())


def aiohttp_user(request: web.Request) -> User | None:
    """`request["user"]` as a pywry user: a `User`, a user name, or an object with `id`."""
    found = request.get("user")
    if found is None or isinstance(found, User):
        return found
    if isinstance(found, str):
        return User(found) if found else None
    ident = getattr(found, "id", None) or getattr(found, "username", None)
    if not ident:
        return None
    return User(str(ident), frozenset(str(r) for r in (getattr(found, "roles", None) or ())))


async def _serve(request: web.Request) -> web.StreamResponse:
    app = request.app[APP]
    app.bind_loop()
    headers = {k.lower(): v for k, v in request.headers.items()}
    path = "/" + request.match_info["path"]
    mount = request.path[: len(request.path) - len(path)] if request.path.endswith(path) else ""
    base = base_from(mount, headers, app.settings.server.trust_forwarded_prefix)
    req = Request(request.method, path, base, dict(request.query), headers, secure=request.secure)
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    req.server = str(sockname[0]) if sockname else ""
    req.address = request.remote or ""  # the peer, as the server saw it (limits)
    if app.access.enabled:
        req.user = aiohttp_user(request) or ask_identify(app, request)
    found = match(app, path)
    if (
        found is not None
        and found[0] == "ws"
        and request.headers.get("Upgrade", "").lower() == "websocket"
    ):
        sock = _Socket(request, app.payload_limit + 1024)
        await serve_socket(app, req, found[1], sock)
        return sock.ws or web.Response(status=400)
    if request.method == "POST":
        try:
            req.body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            req.body = None
    res = await respond(app, req)
    if isinstance(res, HttpResponse):
        body = b"" if request.method == "HEAD" else res.body
        return web.Response(
            body=body, status=res.status, headers={**res.headers, "Content-Type": res.content_type}
        )
    reply = web.StreamResponse(
        status=res.status, headers={**res.headers, "Content-Type": res.content_type}
    )
    await reply.prepare(request)
    try:
        async for chunk in res.chunks:
            await reply.write(chunk)
    except ConnectionError:
        pass
    finally:
        await finish(res.chunks)
    return reply


def aiohttp_app(app: App | None = None, **options: Any) -> web.Application:
    """pywry's routes as an aiohttp application for `web_app.add_subapp("/pywry", ...)`.

    `options` are those every adapter takes (`pywry.core.options`).
    """
    served = (app or default_app()).configure(**options)
    sub = web.Application(client_max_size=served.payload_limit + 1024)
    sub[APP] = served
    sub.router.add_route("*", "/{path:.*}", _serve, name="pywry")

    async def on_startup(started: web.Application) -> None:
        """Learn the `add_subapp` prefix, for `get_widget_html()` outside requests."""
        served.default_base = join_base(started.router["pywry"].canonical[: -len("/{path}")])
        served.bind_loop()

    sub.on_startup.append(on_startup)
    return sub


def start_server(
    applications: Any,
    port: int = 0,
    host: str = "",
    *,
    debug: bool = False,
    reload: bool | None = None,
    **options: Any,
) -> None:
    """Serve page factories with aiohttp's `web.run_app` until Ctrl+C (blocking).

    At shutdown pages' sockets close with 1012 (they reconnect). `debug` runs the loop in
    asyncio's debug mode; the other arguments are those of
    `pywry.adapters.fastapi.start_server`.
    """
    created = aiohttp_app(apps=applications, **options)
    served = created[APP]
    sock = listen(served, host, port, reload_on=reload)
    if sock is None:
        return

    async def close_pages(_: web.Application) -> None:
        await served.aclose()

    created.on_shutdown.append(close_pages)
    loop = asyncio.new_event_loop()
    loop.set_debug(debug)
    try:
        web.run_app(created, sock=sock, print=None, shutdown_timeout=STOP_TIMEOUT, loop=loop)
    finally:
        served.shutdown()


@web.middleware
async def pywry_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """No longer needed (pywry tells handlers apart by itself); kept so old code runs."""
    return await handler(request)  # type: ignore[no-any-return]


def embed(widget: Any, *, height: str = "480px", title: str | None = None) -> str:
    """An `<iframe>` of a widget page for the host's own HTML."""
    return embed_html(widget, height=height, title=title)
