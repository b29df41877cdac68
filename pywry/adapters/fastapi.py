"""FastAPI / Starlette adapter: plain ASGI routes that translate requests into engine calls.

`asgi_app()` is mountable under any prefix (`app.mount("/pywry", asgi_app())`); `routes()` is what
`pywry.inline.get_server_app()` adds to its own FastAPI app at the root.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from ..core import http, stream
from ..core.adapter import AdapterConfig, configure, default_config, embed_html, host_static
from ..core.app import App, default_app
from ..core.connection import pump
from ..core.context import in_request, join_base, request_base

__all__ = ["PyWryMiddleware", "asgi_app", "embed", "routes"]


def _engine(scope: Scope) -> App:
    engine = scope.get("app") and getattr(scope["app"].state, "pywry_engine", None)
    return engine or default_app()


def _base(engine: App, scope: Scope, headers: Any) -> str:
    return http.base_from(
        scope.get("root_path", ""), headers, engine.settings.server.trust_forwarded_prefix
    )


def _reply(res: http.HttpResponse) -> Response:
    return Response(res.body, res.status, res.headers, media_type=res.content_type)


def _config(scope: Scope) -> AdapterConfig:
    app = scope.get("app")
    cfg = app is not None and getattr(app.state, "pywry_config", None)
    return cfg or default_config(_engine(scope))


async def _sse(request: Request) -> Response:
    cfg = _config(request.scope)
    cfg.engine.bind_loop()
    res = await stream.open_stream_async(
        cfg, request.path_params["label"], request.query_params, request.headers
    )
    if isinstance(res, http.HttpResponse):
        return _reply(res)
    return StreamingResponse(res.async_chunks(), headers=res.headers, media_type=res.content_type)


async def _events(request: Request) -> Response:
    cfg = _config(request.scope)
    cfg.engine.bind_loop()
    return _reply(
        await stream.handle_post_async(
            cfg, request.path_params["label"], request.headers, request.stream()
        )
    )


async def _host_static(request: Request) -> Response:
    cfg = _config(request.scope)
    path = request.path_params["path"]
    return _reply(host_static(cfg, path, request.headers.get("if-none-match")))


async def _apps(request: Request) -> Response:
    cfg = _config(request.scope)
    cfg.engine.bind_loop()
    if cfg.apps is None:
        return _reply(http.error_response(404, "not-found", "no applications are configured"))
    name = request.path_params.get("name", request.query_params.get("app"))
    base = _base(cfg.engine, request.scope, request.headers)
    return _reply(await cfg.apps.visit_async(cfg, name, base, websocket=True))


async def _page(request: Request) -> Response:
    engine = _engine(request.scope)
    engine.bind_loop()
    base = _base(engine, request.scope, request.headers)
    return _reply(await http.page_async(engine, request.path_params["label"], base))


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
    cfg = _config(websocket.scope)
    engine = cfg.engine
    engine.bind_loop()
    admission = await cfg.admit_socket_async(
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


def routes(engine: App | None = None, config: AdapterConfig | None = None) -> list[BaseRoute]:
    """The pywry routes, relative to wherever they are mounted."""
    settings = (config.engine if config else engine or default_app()).settings
    prefix = settings.server.widget_prefix
    found: list[BaseRoute] = [
        Route(prefix + "/{label}", _page, methods=["GET", "HEAD"]),
        WebSocketRoute("/ws/{label}", _socket),
        Route("/sse/{label}", _sse, methods=["GET"]),
        Route("/events/{label}", _events, methods=["POST"]),
        Route("/disconnect/{label}", _disconnect, methods=["POST"]),
        Route("/pywry-static/{name}", _static, methods=["GET", "HEAD"]),
        Route("/health", _health, methods=["GET", "HEAD"]),
    ]
    if config is not None and config.static_dir is not None:
        found.append(Route("/static/{path:path}", _host_static, methods=["GET", "HEAD"]))
    if config is not None and config.apps is not None:
        found += app_routes()
    return found


def app_routes() -> list[BaseRoute]:
    """`/` (index or `?app=name`) and `/app/{name}`: the page factories of `apps=`."""
    return [
        Route("/", _apps, methods=["GET"]),
        Route("/app/{name}", _apps, methods=["GET"]),
    ]


class PyWryMiddleware:
    """Marks host-application requests so widgets shown in them are per-visitor.

    It also records the base path of the current request so `get_widget_html()` renders URLs
    that work from that page. `get_server_app()` installs it; a host app that mounts `asgi_app()`
    can add it too (`app.add_middleware(PyWryMiddleware, mount_path="/pywry")`).
    """

    def __init__(self, app: ASGIApp, mount_path: str = "", engine: App | None = None) -> None:
        self.app = app
        self.mount_path = join_base(mount_path)
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        engine = self.engine or default_app()
        engine.bind_loop()
        headers: dict[str, str] = {}
        if engine.settings.server.trust_forwarded_prefix:  # the only header the base needs
            for key, value in scope.get("headers", ()):
                if key == b"x-forwarded-prefix":
                    headers["x-forwarded-prefix"] = value.decode("latin-1")
        base = join_base(_base(engine, scope, headers), self.mount_path)
        t1, t2 = in_request.set(True), request_base.set(base)
        try:
            await self.app(scope, receive, send)
        finally:
            in_request.reset(t1)
            request_base.reset(t2)


def asgi_app(
    mount_path: str = "/pywry", engine: App | None = None, *, apps: Any = None, **options: Any
) -> Starlette:
    """A Starlette app with the pywry routes, to mount in a host app under `mount_path`.

    The page URLs come from where each request was actually served (the ASGI `root_path`), so the
    mount path here only matters for `get_widget_html()` called outside a pywry request.
    `apps` are page factories (`pywry.core.apps`); `options` are those of
    `pywry.core.adapter.configure` (allowed_origins, check_origin, reconnect_timeout,
    max_payload_size, session_expire_seconds, cdn, static_dir).
    """
    cfg = configure(engine, apps=apps, **options)
    eng = cfg.engine
    eng.default_base = join_base(mount_path)
    app = Starlette(routes=routes(eng, cfg))
    app.state.pywry_engine = eng
    app.state.pywry_config = cfg
    return app


def embed(widget: Any, *, height: str = "480px", title: str | None = None) -> str:
    """An `<iframe>` of a widget page for the host's own HTML (base from the current request)."""
    return embed_html(widget, height=height, title=title)
