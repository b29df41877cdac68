"""Framework-neutral requests and answers: what the ASGI and WSGI apps translate to and from."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from . import protocol as p
from .users import NOBODY, User, Who

CLIENT_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
HTML = "text/html; charset=utf-8"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
BACKEND_DOWN = "the state backend is unavailable; try again shortly"
_PREFIX = re.compile(r"[A-Za-z0-9_\-./]*")


@dataclass(slots=True)
class Request:
    """One request to pywry's routes, whatever server or framework received it.

    `path` is below the base path (`/widget/board`); `base` is where pywry's routes live as the
    browser sees them (mount path, `root_path`, `SCRIPT_NAME`, a trusted `X-Forwarded-Prefix`).
    `body` is the request body, or None when it was larger than the app accepts.
    `websocket` says whether pages served for this request may offer the bridge a WebSocket;
    `secure` whether it came over HTTPS.
    """

    method: str
    path: str
    base: str = ""
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = b""
    websocket: bool = True
    secure: bool = False  # HTTPS (the session cookie is then Secure)
    session: str = ""  # the visitor's session id, once known
    user: User | None = None  # the host framework's signed-in user, if the adapter knows one
    login: str = ""  # which host login that user came from (`identity.login_key`), if known
    address: str = ""  # the client's address (rate limits)
    server: str = ""  # the address the server received it on (which Host names it answers to)
    who: Who = NOBODY  # the user pywry's access control found (auth on, visited routes)

    def header(self, name: str) -> str | None:
        """A header by its lower-case name."""
        return self.headers.get(name)


@dataclass(slots=True)
class HttpResponse:
    """A complete answer."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StreamResponse:
    """An answer whose body is produced over time (the event stream)."""

    chunks: AsyncIterator[bytes]
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


Response = HttpResponse | StreamResponse


async def finish(chunks: AsyncIterator[bytes]) -> None:
    """End a streamed body early or late; its generator's `finally` releases the peer."""
    closing = getattr(chunks, "aclose", None)
    if closing is not None:
        await closing()


def json_response(status: int, payload: object) -> HttpResponse:
    """A JSON answer."""
    return HttpResponse(status, p.encode(payload).encode())


def error_response(status: int, code: str, detail: str) -> HttpResponse:
    """The error body every pywry route uses: `{"error": code, "detail": text}`."""
    return json_response(status, {"error": code, "detail": detail})


NOT_YOURS = "this page belongs to another visitor"


def not_yours() -> HttpResponse:
    """403 for a per-visitor widget asked for by another session (a new response each time:
    the caller may add the visitor's cookie to its headers)."""
    return error_response(403, "forbidden", NOT_YOURS)


def draining() -> HttpResponse:
    """503 from a worker that is shutting down (SIGTERM): another one answers a retry."""
    res = error_response(503, "draining", "this server is restarting; try again")
    res.headers["Retry-After"] = "1"
    return res


def token_in_url() -> HttpResponse:
    """401 for a widget token in the query string: URLs end up in access and proxy logs, so
    tokens travel in the `X-PyWry-Token` header only (a bridge that reloads gets the header)."""
    return error_response(
        401,
        "token-in-url",
        "send the widget token in the X-PyWry-Token header; a token in the URL is refused",
    )


def close_code_response(code: int) -> HttpResponse:
    """The HTTP answer for a condition that closes a socket with `code`."""
    name = p.ERROR_CODES.get(code, "error")
    return error_response(p.HTTP_STATUS.get(code, 400), name, name.replace("-", " "))


def join_base(*parts: str) -> str:
    """Join URL path pieces with single slashes, no trailing slash (empty stays empty)."""
    out = "/".join(part.strip("/") for part in parts if part and part.strip("/"))
    return "/" + out if out else ""


def base_from(mount: str, headers: Mapping[str, str], trust_forwarded: bool) -> str:
    """Where pywry's routes live as the browser sees them: the mount, behind a proxy prefix."""
    base = mount or ""
    if trust_forwarded:
        forwarded = headers.get("x-forwarded-prefix")
        if forwarded and _PREFIX.fullmatch(forwarded) and ".." not in forwarded:
            base = join_base(forwarded, base)
    return join_base(base)


def query_int(value: str | None, default: int | None) -> int | None:
    """A non-negative integer query value (a resume point), else `default`."""
    if value is None:
        return default
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        return default
    return int(value)
