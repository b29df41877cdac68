"""pywry as a plain WSGI application: pages, the HTTP stream and event posts.

Mount it anywhere: the base path is `SCRIPT_NAME` (plus a trusted `X-Forwarded-Prefix`). Each
request is answered on the app's loop (a private one in a daemon thread when the server has no
loop), so the logic is the same as under ASGI; an event stream is handed back as a blocking
iterator over it. Pages served here offer the bridge no WebSocket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .http import HttpResponse, Request, Response, base_from
from .identity import login_in, user_in
from .routes import respond

if TYPE_CHECKING:
    from .app import App

StartResponse = Callable[..., Any]
DRAIN_CAP = 16 * 1024 * 1024  # a refused body up to this size is read to the end


class WSGIApp:
    """The WSGI face of one `App`."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        req = request_of(self.app, environ)
        return answer(self.app, req, start_response)


def request_of(app: App, environ: Mapping[str, Any], *, websocket: bool = False) -> Request:
    """The neutral request for a WSGI environ (its body read, bounded by the app's limit)."""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    method = environ.get("REQUEST_METHOD", "GET").upper()
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), True))
    base = base_from(
        environ.get("SCRIPT_NAME", ""), headers, app.settings.server.trust_forwarded_prefix
    )
    path = environ.get("PATH_INFO", "") or "/"
    secure = environ.get("wsgi.url_scheme") == "https"
    req = Request(method, path, base, query, headers, b"", websocket, secure)
    req.user = user_in(environ)
    req.login = login_in(environ)
    req.address = str(environ.get("REMOTE_ADDR") or "")
    req.server = str(environ.get("SERVER_NAME") or "")
    if method == "POST":
        req.body = read_body(
            environ["wsgi.input"].read, headers.get("content-length"), app.payload_limit
        )
    return req


def read_body(read: Callable[[int], bytes], length: str | None, limit: int) -> bytes | None:
    """At most `limit` bytes of a body, or None when it is longer (the rest drained up to a cap)."""
    declared = int(length) if length and length.strip().isdigit() else None
    left = DRAIN_CAP if declared is None else min(declared, DRAIN_CAP)
    parts: list[bytes] = []
    size = 0
    while left > 0:
        chunk = read(min(65536, left))
        if not chunk:
            break
        left -= len(chunk)
        size += len(chunk)
        if size <= limit:
            parts.append(chunk)
    return b"".join(parts) if size <= limit else None


def answer(app: App, req: Request, start_response: StartResponse) -> Iterable[bytes]:
    """Answer `req` on the app's loop and hand the result to a WSGI server."""
    res = app.loop.run(respond(app, req))
    start_response(status_line(res.status), header_list(res))
    if isinstance(res, HttpResponse):
        return [b"" if req.method == "HEAD" else res.body]
    return app.loop.iterate(res.chunks)


def status_line(status: int) -> str:
    """`200 OK` for 200."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def header_list(res: Response) -> list[tuple[str, str]]:
    """The response headers as WSGI wants them, content type and length included."""
    headers = [("Content-Type", res.content_type)]
    if isinstance(res, HttpResponse):
        headers.append(("Content-Length", str(len(res.body))))
    return headers + list(res.headers.items())
