"""FastAPI / Starlette: pywry is a plain ASGI app, so mounting it is all there is.

    from pywry.adapters.fastapi import asgi_app, start_server
    app.mount("/pywry", asgi_app())          # or asgi_app([report, summary]) for page factories
    start_server([report, summary], port=8080)  # or a server of its own, under uvicorn

Starlette passes the mount path in `root_path`, which is where pywry's pages point their
sockets and posts. `get_widget_html()` called in a host route (outside pywry's own requests)
renders for `mount_path`, "/pywry" unless told otherwise.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.requests import HTTPConnection
from uvicorn import Config, Server

from ..core.app import App, default_app
from ..core.asgi import ASGI, ASGIApp, Receive, Scope, Send
from ..core.embed import embed_html
from ..core.http import BACKEND_DOWN, join_base
from ..core.identity import ask_identify
from ..core.server import listen
from ..core.users import User
from ..core.widgets import WidgetLimitError
from ..inline import uvicorn_options
from ..state.base import BackendUnavailable

__all__ = ["PyWryMiddleware", "asgi_app", "embed", "server_app", "start_server"]


def asgi_app(
    applications: Any = None,
    mount_path: str = "/pywry",
    app: App | None = None,
    **options: Any,
) -> ASGIApp:
    """The ASGI app serving `app` (default: the default app), with adapter `options` applied.

    `applications` are page factories (a function, a list or a dict, `pywry.core.apps`; the
    same as `apps=`). `options` are those every adapter takes (`pywry.core.options`):
    allowed_origins, check_origin, reconnect_timeout, max_payload_size, session_expire_seconds,
    cdn, static_dir and apps.
    """
    if applications is not None:
        options["apps"] = applications
    served = (app or default_app()).configure(**options)
    served.default_base = join_base(mount_path)
    asgi = served.asgi
    asgi.host_user = lambda scope: (
        starlette_user(scope) or ask_identify(served, HTTPConnection(scope))
    )
    return asgi


def starlette_user(scope: Scope) -> User | None:
    """The user Starlette's `AuthenticationMiddleware` found (its auth scopes as roles)."""
    found = scope.get("user")
    if found is None or not getattr(found, "is_authenticated", False):
        return None
    ident = _attribute(found, "identity") or _attribute(found, "display_name")
    if not ident:
        return None
    auth = scope.get("auth")
    roles = frozenset(str(r) for r in (getattr(auth, "scopes", None) or ()))
    return User(str(ident), roles)


def _attribute(user: Any, name: str) -> Any:
    """`user.<name>`, or None: Starlette's `BaseUser` raises NotImplementedError for the
    properties a subclass leaves out (`identity` is often one)."""
    try:
        return getattr(user, name, None)
    except NotImplementedError:
        return None


def embed(widget: Any, *, height: str = "480px", title: str | None = None) -> str:
    """An `<iframe>` of a widget page for the host's own HTML."""
    return embed_html(widget, height=height, title=title)


class PyWryMiddleware:
    """No longer needed (pywry tells host requests apart by itself); kept so old code runs."""

    def __init__(self, app: Any, **_: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class Routes:
    """Middleware putting an app's routes in front of a FastAPI app (deploy mode)."""

    def __init__(self, app: ASGI, pywry: App) -> None:
        self.asgi = pywry.asgi.around(app)
        self.asgi.host_user = lambda scope: (
            starlette_user(scope) or ask_identify(pywry, HTTPConnection(scope))
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)


def server_app(app: App) -> FastAPI:
    """Deploy mode's FastAPI app: `app`'s routes at the root, the user's routes beside them."""

    # pywry's start-up and shutdown run in `Routes` (the core's lifespan, around this app's)
    created = FastAPI(title="pywry", docs_url=None, redoc_url=None, openapi_url=None)

    async def unavailable(request: Request, exc: Exception) -> Response:
        if isinstance(exc, WidgetLimitError):
            refused = exc.refusal.response()
            return Response(refused.body, refused.status, refused.headers, refused.content_type)
        return JSONResponse(
            {"error": "backend-unavailable", "detail": BACKEND_DOWN}, status_code=503
        )

    created.add_exception_handler(WidgetLimitError, unavailable)
    created.add_exception_handler(BackendUnavailable, unavailable)
    if app.settings.server.cors_origins:  # the user's routes only: added first, so inside Routes
        created.add_middleware(
            CORSMiddleware,
            allow_origins=list(app.settings.server.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )
    created.add_middleware(Routes, pywry=app)  # pywry's pages carry tokens: never CORS-readable
    return created


def start_server(
    applications: Any,
    port: int = 0,
    host: str = "",
    *,
    debug: bool = False,
    reload: bool | None = None,
    **options: Any,
) -> None:
    """Serve page factories with uvicorn on host:port until Ctrl+C (blocking).

    `applications` is a function, a list or a dict (`pywry.core.apps`): `/` opens `index` (a
    list of the applications when there is none), `/?app=name` and `/app/name` the others.
    `options` are every adapter's (`pywry.core.options`); the other server settings
    (`PYWRY_SERVER__*`: TLS, keep-alive, limits) apply as in `deploy()`. `debug` shows
    tracebacks in error pages and logs at debug level; `reload` (default
    `PYWRY_SERVER__RELOAD`) restarts on code changes (`pywry.core.reload`).
    """
    served = default_app().configure(apps=applications, **options)
    tls = bool(served.settings.server.ssl_certfile)
    sock = listen(served, host, port, reload_on=reload, tls=tls)
    if sock is None:
        return
    created = server_app(served)
    created.debug = debug
    settings = uvicorn_options(served.settings)
    del settings["host"], settings["port"]  # it serves `sock`
    if debug:
        settings["log_level"] = "debug"
    try:
        Server(Config(created, **settings)).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it stopped for
        pass
    finally:
        served.shutdown()
