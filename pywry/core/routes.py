"""pywry's routes: which path is which, and the answer to each. The one route table.

Under the base path: the page `{WIDGET_PREFIX}/{label}`, the socket `/ws/{label}`, the event
stream `/sse/{label}`, event posts `/events/{label}`, disconnects `/disconnect/{label}`, assets
`/pywry-static/{name}`, `/health` (liveness), `/ready` (readiness), `/metrics` when metrics are
on, and when configured the host's files `/static/{path}` and the applications: `/` and the
paths they claim (`/app/{name}` for page factories, any other path for a folder of application
files). Every server driver asks `match` and `respond`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from . import files, stream
from . import protocol as p
from .context import request_scope
from .framing import frame_headers
from .http import (
    CLIENT_ID,
    HTML,
    HttpResponse,
    Request,
    Response,
    close_code_response,
    draining,
    error_response,
    json_response,
    not_yours,
    token_in_url,
)
from .signin import message_page, redirect
from .tokens import tokens_equal
from .users import SIGNED_OUT

if TYPE_CHECKING:
    from .app import App

Handler = Callable[["App", Request, str], Awaitable[Response]]

SINGLE = ("ws", "sse", "events", "disconnect", "pywry-static", "auth")
VISITED = ("page", "sse", "events", "index", "app", "auth")  # routes that give a session
TOKENED = ("sse", "events", "disconnect")  # routes that need the widget token, in a header
METHODS = {
    "page": ("GET", "HEAD"),
    "ws": ("GET",),
    "sse": ("GET",),
    "events": ("POST",),
    "disconnect": ("POST",),
    "pywry-static": ("GET", "HEAD"),
    "health": ("GET", "HEAD"),
    "ready": ("GET", "HEAD"),
    "metrics": ("GET",),
    "static": ("GET", "HEAD"),
    "index": ("GET",),
    "app": ("GET",),
    "auth": ("GET", "POST"),
}


def match(app: App, path: str) -> tuple[str, str] | None:
    """`(route, parameter)` for a path below the base, or None when it is not pywry's."""
    if path in ("", "/"):
        return ("index", "") if app.apps is not None else None
    found = own_route(app, path)
    if found is None and app.apps is not None:
        claimed = app.apps.claim(path)
        return None if claimed is None else ("app", claimed)
    return found


def own_route(app: App, path: str) -> tuple[str, str] | None:
    """`match` for the routes of pywry itself, which no application path can take."""
    if path in ("/health", "/ready"):
        return path[1:], ""
    if path == "/metrics" and app.metrics.enabled:
        return "metrics", ""
    if path.startswith("/static/") and app.static_dir is not None:
        return "static", path[len("/static/") :]
    head, _, rest = path[1:].partition("/")
    if rest and "/" not in rest and head in SINGLE:
        return head, rest
    prefix = app.settings.server.widget_prefix
    if path.startswith(prefix + "/"):
        label = path[len(prefix) + 1 :]
        if label and "/" not in label:
            return "page", label
    return None


OPERATIONS = ("health", "ready", "metrics")  # answered while draining too
REFUSED = (401, 403, 421, 429)  # answers logged as refusals (`pywry.core.refusals`)


async def respond(app: App, req: Request) -> Response:
    """The answer to an HTTP request for one of pywry's routes; refusals are logged.

    Every HTML answer (widget pages, application pages, sign-in pages) says who may frame it.
    """
    res = await _route(app, req)
    if isinstance(res, HttpResponse):
        if res.content_type == HTML:
            res.headers.update(frame_headers(app.settings.server.frame_ancestors))
        if res.status in REFUSED:
            app.refusals.note(_reason(res), widget_of(app, req.path), req.address)
    return res


WIDGET_ROUTES = ("page", "ws", "sse", "events", "disconnect")


def widget_of(app: App, path: str) -> str:
    """The label of the widget a path is for, "" for other routes (refusal log lines)."""
    found = match(app, path)
    return found[1] if found is not None and found[0] in WIDGET_ROUTES else ""


def _reason(res: HttpResponse) -> str:
    """The error code of an answer (`{"error": ...}`), else its status."""
    try:
        code = json.loads(res.body).get("error")
    except (ValueError, AttributeError):
        code = None
    return str(code) if code else f"http-{res.status}"


async def _route(app: App, req: Request) -> Response:
    refused = app.host_refusal(req)
    if refused is not None:
        return refused
    found = match(app, req.path)
    if found is None:
        return error_response(404, "not-found", "no such pywry route")
    route, param = found
    if req.method not in METHODS[route]:
        return HttpResponse(405, b"", headers={"Allow": ", ".join(METHODS[route])})
    if app.draining and route not in OPERATIONS:
        return draining()
    if route in TOKENED and "token" in req.query:
        return token_in_url()
    if route not in VISITED:
        return await HANDLERS[route](app, req, param)
    req.session, cookie = app.visitor(req)
    if app.access.enabled or route == "auth":
        req.who = await app.access.who(req, new_session=bool(cookie))
    with request_scope(app, req.base, req.websocket, req.session, req.who.user, req.address):
        res = await HANDLERS[route](app, req, param)
    res.headers.update(cookie)
    return res


async def _page(app: App, req: Request, label: str) -> Response:
    refused = await app.prepare_or_refuse(label)
    if refused is not None:
        return refused
    widget = app.registry.get(label)
    if widget is not None and not app.session_allowed(widget, req.session):
        return not_yours()  # its page holds the token: only its own visitor gets it
    if widget is not None:
        code = app.access.refusal(widget, req.who.user)
        if code is not None:
            return refused_page(app, req, code)
    return page_response(app, label, req.base, websocket=req.websocket)


def refused_page(app: App, req: Request, code: int) -> HttpResponse:
    """An HTML page nobody may see now: sign in first (a redirect when a provider is set up,
    else 401), or 403 for a signed-in user without the widget's roles."""
    if code == p.CLOSE_BAD_TOKEN:
        if app.signin.configured:
            query = "&".join(f"{quote(k)}={quote(v)}" for k, v in req.query.items())
            target = f"{req.base}{req.path}" + (f"?{query}" if query else "")
            if req.who.source == SIGNED_OUT:
                return app.signin.signed_out_page(req, target)
            return redirect(app.signin.login_url(req.base, target))
        return message_page(401, "Sign-in required", "Sign in to see this page.")
    return message_page(403, "Not allowed", "Your account may not see this page.")


def page_response(app: App, label: str, base: str, *, websocket: bool) -> HttpResponse:
    """A widget's page, or 404 for an unknown label."""
    html = app.page_html(label, base, websocket=websocket)
    if html is None:
        return error_response(404, "unknown-widget", f"no widget called {label!r}")
    return HttpResponse(200, html.encode(), HTML, {"Cache-Control": "no-store"})


async def _socket_over_http(app: App, req: Request, label: str) -> Response:
    return error_response(426, "upgrade-required", "open this URL as a WebSocket")


async def _asset(app: App, req: Request, name: str) -> Response:
    return files.asset(app.assets, name, req.header("if-none-match"))


async def _health(app: App, req: Request, _: str) -> Response:
    return json_response(200, app.health(req.header("x-pywry-internal-token")))


READY_DETAIL = {
    "draining": "this server is shutting down",
    "backend-unavailable": "the state backend does not answer",
}


async def _ready(app: App, req: Request, _: str) -> Response:
    reason = await app.readiness()
    if reason is None:
        return json_response(200, {"status": "ready"})
    return error_response(503, reason, READY_DETAIL[reason])


async def _metrics(app: App, req: Request, _: str) -> Response:
    expected = app.settings.server.metrics_token
    if expected:
        scheme, _, given = (req.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not tokens_equal(expected, given.strip()):
            res = error_response(401, "bad-token", "/metrics needs its bearer token")
            res.headers["WWW-Authenticate"] = "Bearer"
            return res
    body, content_type = await asyncio.to_thread(app.metrics.render)  # reads other workers' files
    return HttpResponse(200, body, content_type, {"Cache-Control": "no-store"})


async def _host_file(app: App, req: Request, path: str) -> Response:
    return files.host_file(app.static_dir, path, req.header("if-none-match"))


async def _disconnect(app: App, req: Request, label: str) -> Response:
    refused = await app.prepare_or_refuse(label)  # another worker's widget: load it first
    if refused is not None:
        return refused
    token = req.header("x-pywry-token")
    widget, code = app.admit(label, token, req.header("origin"), req.header("host"))
    if widget is None:
        return close_code_response(code or 4001)
    client = req.query.get("client") or req.header("x-pywry-client")
    if client and CLIENT_ID.match(client):
        app.clients.disconnected(label, client, leaving=True)
    return HttpResponse(204)


async def _application(app: App, req: Request, param: str) -> Response:
    if app.apps is None:
        return error_response(404, "not-found", "no applications are configured")
    return await app.apps.answer(app, req, param)


async def _auth(app: App, req: Request, action: str) -> Response:
    return await app.signin.handle(req, action)


async def _sse(app: App, req: Request, label: str) -> Response:
    return await stream.open_stream(app, req, label)


async def _post(app: App, req: Request, label: str) -> Response:
    return await stream.handle_post(app, req, label)


HANDLERS: dict[str, Handler] = {
    "page": _page,
    "ws": _socket_over_http,
    "sse": _sse,
    "events": _post,
    "disconnect": _disconnect,
    "pywry-static": _asset,
    "health": _health,
    "ready": _ready,
    "metrics": _metrics,
    "static": _host_file,
    "index": _application,
    "app": _application,
    "auth": _auth,
}
