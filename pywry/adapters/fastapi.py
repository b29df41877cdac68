"""FastAPI / Starlette adapter: plain ASGI routes that translate requests into engine calls.

`asgi_app()` is mountable under any prefix (`app.mount("/pywry", asgi_app())`); `routes()` is what
`pywry.inline.get_server_app()` adds to its own FastAPI app at the root.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from ..core import http
from ..core.connection import pump
from ..core.context import in_request, join_base, request_base
from ..core.engine import Engine, get_engine

__all__ = ["PyWryMiddleware", "asgi_app", "routes"]


def _engine(scope: Scope) -> Engine:
    engine = scope.get("app") and getattr(scope["app"].state, "pywry_engine", None)
    return engine or get_engine()


def _base(engine: Engine, scope: Scope, headers: Any) -> str:
    return http.base_from(
        scope.get("root_path", ""), headers, engine.settings.server.trust_forwarded_prefix
    )


def _reply(res: http.HttpResponse) -> Response:
    return Response(res.body, res.status, res.headers, media_type=res.content_type)


async def _page(request: Request) -> Response:
    engine = _engine(request.scope)
    engine.bind_loop()
    base = _base(engine, request.scope, request.headers)
    return _reply(http.page(engine, request.path_params["label"], base))


async def _static(request: Request) -> Response:
    engine = _engine(request.scope)
    return _reply(
        http.static(engine, request.path_params["name"], request.headers.get("if-none-match"))
    )


async def _health(request: Request) -> Response:
    return _reply(http.health(_engine(request.scope), request.headers))


async def _disconnect(request: Request) -> Response:
    engine = _engine(request.scope)
    return _reply(
        http.disconnect(engine, request.path_params["label"], request.query_params, request.headers)
    )


async def _socket(websocket: WebSocket) -> None:
    engine = _engine(websocket.scope)
    engine.bind_loop()
    admission = http.admit_socket(
        engine,
        websocket.path_params["label"],
        list(websocket.scope.get("subprotocols") or ()),
        websocket.query_params,
        websocket.headers,
    )
    await websocket.accept(subprotocol=admission.subprotocol)
    if admission.widget is None:
        await websocket.close(admission.close_code or 1008)
        return

    async def close(code: int, reason: str) -> None:
        await websocket.close(code, reason)

    conn = engine.attach(
        admission.widget, admission.client, admission.after, websocket.send_text, close
    )
    if conn is None:
        await websocket.close(1008, "too many connections")
        return

    async def next_frame() -> str | bytes | None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    await pump(conn, next_frame)


def routes(engine: Engine | None = None) -> list[BaseRoute]:
    """The pywry routes, relative to wherever they are mounted."""
    settings = (engine or get_engine()).settings
    prefix = settings.server.widget_prefix
    return [
        Route(prefix + "/{label}", _page, methods=["GET", "HEAD"]),
        WebSocketRoute("/ws/{label}", _socket),
        Route("/disconnect/{label}", _disconnect, methods=["POST"]),
        Route("/pywry-static/{name}", _static, methods=["GET", "HEAD"]),
        Route("/health", _health, methods=["GET", "HEAD"]),
    ]


class PyWryMiddleware:
    """Marks host-application requests so widgets shown in them are per-visitor.

    It also records the base path of the current request so `get_widget_html()` renders URLs
    that work from that page. `get_server_app()` installs it; a host app that mounts `asgi_app()`
    can add it too (`app.add_middleware(PyWryMiddleware, mount_path="/pywry")`).
    """

    def __init__(self, app: ASGIApp, mount_path: str = "", engine: Engine | None = None) -> None:
        self.app = app
        self.mount_path = join_base(mount_path)
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        engine = self.engine or get_engine()
        engine.bind_loop()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        base = join_base(_base(engine, scope, headers), self.mount_path)
        t1, t2 = in_request.set(True), request_base.set(base)
        try:
            await self.app(scope, receive, send)
        finally:
            in_request.reset(t1)
            request_base.reset(t2)


def asgi_app(mount_path: str = "/pywry", engine: Engine | None = None) -> Starlette:
    """A Starlette app with the pywry routes, to mount in a host app under `mount_path`.

    The page URLs come from where each request was actually served (the ASGI `root_path`), so the
    mount path here only matters for `get_widget_html()` called outside a pywry request.
    """
    eng = engine or get_engine()
    eng.default_base = join_base(mount_path)
    app = Starlette(routes=routes(eng))
    app.state.pywry_engine = eng
    return app
