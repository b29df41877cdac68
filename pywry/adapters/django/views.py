"""The one Django view: a Django request in, the core's answer out (WSGI and ASGI)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from ...core.app import App
from ...core.http import HttpResponse as CoreResponse
from ...core.http import Request
from ...core.identity import ask_identify, login_key
from ...core.routes import respond
from ...core.wsgi import read_body
from .base import mount_base
from .users import request_login, request_user


@csrf_exempt
def serve(request: HttpRequest, rest: str, pywry_app: App) -> HttpResponse | StreamingHttpResponse:
    """Every pywry route (posts are token- and origin-protected, so exempt from CSRF)."""
    app = pywry_app
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = request.get_host()  # DisallowedHost (a 400) for a host not allowed
    scope = getattr(request, "scope", None)
    asgi = isinstance(scope, dict)
    body: bytes | None = b""
    if request.method == "POST":
        body = read_body(request.read, headers.get("content-length"), app.payload_limit)
    req = Request(
        request.method or "GET",
        "/" + rest,
        mount_base(app, request) or "",
        request.GET.dict(),
        headers,
        body,
        isinstance(scope, dict) and bool(scope.get("pywry.websocket")),
        request.is_secure(),
    )
    req.server = str(request.META.get("SERVER_NAME") or "")
    req.address = str(request.META.get("REMOTE_ADDR") or "")  # the peer (limits)
    if app.access.enabled:
        req.user = request_user(request)
        if req.user is not None:
            req.login = login_key(request_login(request))
        else:
            req.user = ask_identify(app, request)
    res = app.loop.run(respond(app, req))
    if isinstance(res, CoreResponse):
        reply: HttpResponse | StreamingHttpResponse = HttpResponse(
            b"" if req.method == "HEAD" else res.body,
            status=res.status,
            content_type=res.content_type,
        )
    else:
        chunks = app.loop.relay(res.chunks) if asgi else app.loop.iterate(res.chunks)
        reply = StreamingHttpResponse(chunks, status=res.status, content_type=res.content_type)
    for key, value in res.headers.items():
        reply[key] = value
    return reply
