"""Framework-neutral HTTP answers; each adapter only copies status, headers and body across."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import protocol as p
from .app import App
from .assets import CACHE_CONTROL
from .context import join_base
from .widgets import Widget

CLIENT_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
HTML = "text/html; charset=utf-8"
JSON = "application/json"


@dataclass(slots=True)
class HttpResponse:
    """What an adapter turns into its framework's response object."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: object) -> HttpResponse:
    """A JSON answer."""
    return HttpResponse(status, p.encode(payload).encode())


def error_response(status: int, code: str, detail: str) -> HttpResponse:
    """The HTTP-stream error body of DESIGN section 3: `{"error": code, "detail": text}`."""
    return json_response(status, {"error": code, "detail": detail})


def close_code_response(code: int) -> HttpResponse:
    """The HTTP answer for a condition that closes a socket with `code`."""
    name = p.ERROR_CODES.get(code, "error")
    return error_response(p.HTTP_STATUS.get(code, 400), name, name.replace("-", " "))


def base_from(root_path: str, headers: Mapping[str, str], trust_forwarded: bool) -> str:
    """Where the pywry routes live as the browser sees them (mount path, proxy prefix)."""
    base = root_path or ""
    if trust_forwarded:
        forwarded = headers.get("x-forwarded-prefix")
        if forwarded and re.fullmatch(r"[A-Za-z0-9_\-./]*", forwarded) and ".." not in forwarded:
            base = join_base(forwarded, base)
    return join_base(base)


def page(engine: App, label: str, base: str, *, websocket: bool = True) -> HttpResponse:
    """`GET {base}{WIDGET_PREFIX}/{label}`."""
    html = engine.page_html(label, base, websocket=websocket)
    if html is None:
        return error_response(404, "unknown-widget", f"no widget called {label!r}")
    return HttpResponse(200, html.encode(), HTML, {"Cache-Control": "no-store"})


def static(engine: App, name: str, if_none_match: str | None) -> HttpResponse:
    """`GET {base}/pywry-static/{name}` with ETag revalidation."""
    asset = engine.assets.get(name)
    if asset is None:
        return error_response(404, "not-found", "no such pywry asset")
    headers = {"ETag": asset.etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match and asset.etag in if_none_match:
        return HttpResponse(304, b"", asset.content_type, headers)
    return HttpResponse(200, asset.body, asset.content_type, headers)


def health(engine: App, headers: Mapping[str, str]) -> HttpResponse:
    """`GET {base}/health`: public liveness, details only with the internal API token."""
    return json_response(200, engine.health(headers.get("x-pywry-internal-token")))


def disconnect(
    engine: App, label: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> HttpResponse:
    """`POST {base}/disconnect/{label}`: a page ends its own client's presence (needs the token)."""
    widget, code = engine.admit(
        label,
        headers.get("x-pywry-token") or query.get("token"),
        headers.get("origin"),
        headers.get("host"),
    )
    if widget is None:
        assert code is not None
        return close_code_response(code)
    client = query.get("client") or headers.get("x-pywry-client")
    if client and CLIENT_ID.match(client):
        engine.clients.disconnected(label, client, leaving=True)
    return HttpResponse(204)


@dataclass(slots=True)
class SocketAdmission:
    """The outcome of a WebSocket handshake, decided before the adapter accepts it."""

    subprotocol: str | None
    widget: Widget | None = None
    close_code: int | None = None
    client: str = ""
    after: int = 0


def admit_socket(
    engine: App,
    label: str,
    subprotocols: list[str],
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> SocketAdmission:
    """Decide a WebSocket handshake: token from the subprotocol, origin, widget, resume point.

    The adapter always accepts (echoing `subprotocol`) and then closes with `close_code` when set,
    so the browser learns why; a refused handshake would only show it a bare 1006.
    """
    from .tokens import new_label, token_from_subprotocols  # noqa: PLC0415

    token, echo = token_from_subprotocols(subprotocols)
    widget, code = engine.admit(label, token, headers.get("origin"), headers.get("host"))
    if widget is None:
        return SocketAdmission(echo, close_code=code)
    client = query.get("client") or ""
    if not CLIENT_ID.match(client):
        client = new_label()
    after = _int(query.get("after"), widget.outbox.seq)
    return SocketAdmission(echo, widget, None, client, after)


CLOSE_TRY_LATER = 1013


async def prepare(engine: App, label: str) -> HttpResponse | None:
    """Make `label` servable on this worker; a 503 answer while the shared store is down."""
    from ..state.base import BackendUnavailable  # noqa: PLC0415

    try:
        await engine.prepare(label)
    except BackendUnavailable as exc:
        return error_response(503, "backend-unavailable", str(exc))
    return None


async def page_async(engine: App, label: str, base: str, *, websocket: bool = True) -> HttpResponse:
    """`page` for async adapters: also serves widgets registered on another worker."""
    return await prepare(engine, label) or page(engine, label, base, websocket=websocket)


async def admit_socket_async(
    engine: App,
    label: str,
    subprotocols: list[str],
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> SocketAdmission:
    """`admit_socket` for async adapters; during a store outage the socket is told to retry."""
    if await prepare(engine, label) is not None:
        from .tokens import token_from_subprotocols  # noqa: PLC0415

        return SocketAdmission(token_from_subprotocols(subprotocols)[1], close_code=CLOSE_TRY_LATER)
    return admit_socket(engine, label, subprotocols, query, headers)


def _int(value: str | None, default: int) -> int:
    if value is None or not value.isdigit() or len(value) > 18:
        return default
    return int(value)
