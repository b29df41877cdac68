"""The HTML shell of a widget page: bridge injection and the bootstrap object."""

from __future__ import annotations

import html
import re
from typing import Any

from .assets import STATIC_PLACEHOLDER, Assets
from .protocol import PROTOCOL_VERSION, encode
from .widgets import Widget

_FULL_DOC = re.compile(r"<html[\s>]", re.IGNORECASE)
_HEAD_OPEN = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_HTML_OPEN = re.compile(r"<html[^>]*>", re.IGNORECASE)
_TITLE = re.compile(r"<title[\s>]", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>|<body[\s>]", re.IGNORECASE)
# an empty icon: without one, every page load asks for /favicon.ico and gets a 404
NO_FAVICON = '<link rel="icon" href="data:,">'
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no `</script>` breakout)."""
    return (
        encode(value)
        .translate(_JSON_ESCAPES)
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def chosen_theme(widget: Widget, server: Any) -> str | None:
    """The theme its author chose (`show(theme=...)`, else the THEME setting when it is set),
    or None: the bridge then uses dark, or the host page's preference inside a frame."""
    if widget.theme:
        return widget.theme
    return str(server.theme) if "theme" in server.model_fields_set else None


def bootstrap(
    widget: Widget, base: str, seq: int, *, websocket: bool, settings: Any, boot: str | None = None
) -> dict:
    """The object the bridge reads to find its way back to this server.

    With code reload on, `boot` (the server's boot id) and where `/health` says the current
    one: a page that reconnects to a server with another id reloads itself.
    """
    server = settings.server
    found = {
        "protocol": PROTOCOL_VERSION,
        "label": widget.label,
        "token": widget.token,
        "ws": f"{base}/ws/{widget.label}" if websocket else None,
        "stream": f"{base}/sse/{widget.label}",
        "events": f"{base}/events/{widget.label}",
        "disconnect": f"{base}/disconnect/{widget.label}",
        "seq": seq,
        "reconnectTimeout": server.reconnect_timeout,
        "maxPayload": server.max_payload_size,
        "theme": chosen_theme(widget, server),
    }
    if boot is not None:
        found["boot"] = boot
        found["health"] = f"{base}/health"
    return found


def render(
    widget: Widget,
    base: str,
    seq: int,
    assets: Assets,
    *,
    websocket: bool,
    settings: Any,
    boot: str | None = None,
) -> str:
    """Full page HTML for `widget` as served under `base`."""
    static = f"{base}/pywry-static"
    boot_info = bootstrap(widget, base, seq, websocket=websocket, settings=settings, boot=boot)
    theme = boot_info["theme"] if boot_info["theme"] in ("dark", "light") else "dark"
    head = (
        NO_FAVICON
        + assets.tag("pywry.css", static)
        + assets.tag("toolbar.css", static)
        + f'<script type="application/json" id="pywry-bootstrap">{script_json(boot_info)}</script>'
        + assets.tag("bridge.js", static)
        + assets.tag("toolbar.js", static)
    )
    if widget.head:
        head += widget.head.replace(STATIC_PLACEHOLDER, static)
    content = widget.content
    if _FULL_DOC.search(content[:2000]):
        end = _HEAD_END.search(content)
        if not _TITLE.search(content, 0, end.start() if end else len(content)):
            head = f"<title>{html.escape(widget.title)}</title>{head}"  # from show(title=...)
        match = _HEAD_OPEN.search(content)
        if match:
            return content[: match.end()] + head + content[match.end() :]
        tag = _HTML_OPEN.search(content)
        if tag:
            return content[: tag.end()] + f"<head>{head}</head>" + content[tag.end() :]
    return (
        f'<!doctype html><html lang="en" data-pywry-theme="{theme}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(widget.title)}</title>{head}</head>"
        f'<body class="pywry-body"><div id="pywry-root" class="pywry-root">{content}</div>'
        "</body></html>"
    )
