"""Per-request context that adapters set, so `show()` and `get_widget_html()` know where they
run."""

from __future__ import annotations

from contextvars import ContextVar

# The base path of the pywry routes as seen by the current request (mount path, root_path,
# trusted X-Forwarded-Prefix). None outside a request.
request_base: ContextVar[str | None] = ContextVar("pywry_request_base", default=None)

# True while a host-application request is being handled: widgets shown then are per-visitor.
in_request: ContextVar[bool] = ContextVar("pywry_in_request", default=False)

# Whether pages rendered during the current request may offer the bridge a WebSocket (False
# under WSGI: Flask, Django without the ASGI wrapper). None: unknown, so yes. (Issue 7.)
request_websocket: ContextVar[bool | None] = ContextVar("pywry_request_websocket", default=None)


def join_base(*parts: str) -> str:
    """Join URL path pieces with single slashes, no trailing slash (empty stays empty)."""
    out = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
    return "/" + out if out else ""
