"""aiohttp adapter: a sub-application that translates aiohttp requests into core calls.

    from pywry.adapters.aiohttp import aiohttp_app
    web_app.add_subapp("/pywry", aiohttp_app())

WebSockets are native (`WebSocketResponse` fed into the core `pump`); the HTTP stream is there
too, for browsers whose WebSocket cannot get through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from ..core import http, stream
from ..core.adapter import AdapterConfig, configure, embed_html, host_static
from ..core.connection import pump
from ..core.context import in_request, join_base, request_base

__all__ = ["aiohttp_app", "embed", "pywry_middleware"]

CONFIG = web.AppKey("pywry_config", AdapterConfig)


def _reply(res: http.HttpResponse) -> web.Response:
    headers = dict(res.headers)
    headers["Content-Type"] = res.content_type
    return web.Response(body=res.body, status=res.status, headers=headers)


def _headers(request: web.Request) -> Mapping[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def _base(request: web.Request, suffix: str) -> str:
    """The base path: this sub-app's prefix (+ a trusted proxy prefix)."""
    cfg = request.app[CONFIG]
    path = request.path
    mount = path[: len(path) - len(suffix)] if suffix and path.endswith(suffix) else path
    trust = cfg.engine.settings.server.trust_forwarded_prefix
    return http.base_from(mount, _headers(request), trust)


async def _page(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    cfg.engine.bind_loop()
    label = request.match_info["label"]
    base = _base(request, f"{cfg.engine.settings.server.widget_prefix}/{label}")
    return _reply(await http.page_async(cfg.engine, label, base))


async def _socket(request: web.Request) -> web.StreamResponse:
    cfg = request.app[CONFIG]
    engine = cfg.engine
    engine.bind_loop()
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    admission = await cfg.admit_socket_async(
        request.match_info["label"],
        [p for p in offered if p],
        request.query,
        _headers(request),
    )
    ws = web.WebSocketResponse(
        protocols=(admission.subprotocol,) if admission.subprotocol else (),
        max_msg_size=cfg.payload_limit + 1024,
        autoping=True,
    )
    await ws.prepare(request)
    if admission.widget is None:
        await ws.close(code=admission.close_code or 1008)
        return ws

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, message=reason.encode())

    conn = engine.attach(admission.widget, admission.client, admission.after, ws.send_str, close)
    if conn is None:
        await ws.close(code=1008, message=b"too many connections")
        return ws

    async def next_frame() -> str | bytes | None:
        msg = await ws.receive()
        if msg.type == WSMsgType.TEXT:
            return str(msg.data)
        if msg.type == WSMsgType.BINARY:
            return bytes(msg.data)
        return None  # close, closing, closed, error

    await pump(conn, next_frame)
    return ws


async def _sse(request: web.Request) -> web.StreamResponse:
    cfg = request.app[CONFIG]
    cfg.engine.bind_loop()
    res = await stream.open_stream_async(
        cfg, request.match_info["label"], request.query, _headers(request)
    )
    if isinstance(res, http.HttpResponse):
        return _reply(res)
    reply = web.StreamResponse(
        status=200, headers={**res.headers, "Content-Type": res.content_type}
    )
    await reply.prepare(request)
    chunks = res.async_chunks()
    try:
        async for chunk in chunks:
            await reply.write(chunk)
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        await chunks.aclose()
    return reply


async def _events(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    cfg.engine.bind_loop()
    return _reply(
        await stream.handle_post_async(
            cfg,
            request.match_info["label"],
            _headers(request),
            request.content.iter_chunked(65536),
        )
    )


async def _disconnect(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    return _reply(
        http.disconnect(cfg.engine, request.match_info["label"], request.query, _headers(request))
    )


async def _static(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    name = request.match_info["name"]
    return _reply(http.static(cfg.engine, name, request.headers.get("If-None-Match")))


async def _health(request: web.Request) -> web.Response:
    return _reply(http.health(request.app[CONFIG].engine, _headers(request)))


async def _host_static(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    path = request.match_info["path"]
    return _reply(host_static(cfg, path, request.headers.get("If-None-Match")))


async def _apps(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    cfg.engine.bind_loop()
    name = request.match_info.get("name")
    suffix = f"/app/{name}" if name is not None else "/"
    if name is None:
        name = request.query.get("app")
    assert cfg.apps is not None
    return _reply(await cfg.apps.visit_async(cfg, name, _base(request, suffix), websocket=True))


def aiohttp_app(*, apps: Any = None, **options: Any) -> web.Application:
    """The pywry routes as an aiohttp application for `web_app.add_subapp("/pywry", ...)`.

    `apps` are page factories (`pywry.core.apps`); `options` are those of
    `pywry.core.adapter.configure` (allowed_origins, check_origin, reconnect_timeout,
    max_payload_size, session_expire_seconds, cdn, static_dir).
    """
    engine = options.pop("engine", None)
    cfg = configure(engine, apps=apps, **options)
    app = web.Application(client_max_size=cfg.payload_limit + 1024)
    app[CONFIG] = cfg
    prefix = cfg.engine.settings.server.widget_prefix
    router = app.router
    router.add_get(prefix + "/{label}", _page)
    router.add_get("/ws/{label}", _socket)
    router.add_get("/sse/{label}", _sse, allow_head=False)
    router.add_post("/events/{label}", _events)
    router.add_post("/disconnect/{label}", _disconnect)
    router.add_get("/pywry-static/{name}", _static)
    router.add_get("/health", _health, name="pywry-health")
    if cfg.static_dir is not None:
        router.add_get("/static/{path:.+}", _host_static)
    if cfg.apps is not None:
        router.add_get("/", _apps)
        router.add_get("/app/{name}", _apps)

    async def on_startup(sub: web.Application) -> None:
        """Learn the `add_subapp` prefix (for `get_widget_html()` outside requests)."""
        canonical = sub.router["pywry-health"].canonical
        cfg.engine.default_base = join_base(canonical[: -len("/health")])
        cfg.engine.bind_loop()

    app.on_startup.append(on_startup)
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def pywry_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Optional, for the host app: widgets shown while handling a request are per-visitor."""
    tokens = in_request.set(True), request_base.set(None)
    try:
        return await handler(request)
    finally:
        in_request.reset(tokens[0])
        request_base.reset(tokens[1])


def embed(widget: Any, *, height: str = "480px", title: str | None = None) -> str:
    """An `<iframe>` of a widget page for the host's own HTML."""
    return embed_html(widget, height=height, title=title)
