"""`WidgetHandle`: what `show()` returns; the Python side of one widget, and the HTML kind.

A kind of widget with methods of its own (`pywry.plotly.PlotlyHandle`,
`pywry.dataframe.TableHandle`) subclasses `WidgetHandle`; `HTML` is the kind of a plain widget.
"""

from __future__ import annotations

import base64
from typing import Any

from .core.app import App
from .core.kinds import WidgetKind
from .core.widgets import Widget
from .toolbar import apply_set_value, set_value_message

ALERT_TYPES = ("info", "success", "warning", "error")


class WidgetHandle:
    """Talks to every browser showing one widget, on this worker and (with a shared backend) all.

    Every method is safe from any thread, from sync or async code, inside or outside a callback.
    Methods that send return the message's sequence number, or None with a shared backend (it
    numbers messages when it publishes them).
    """

    def __init__(self, engine: App, label: str) -> None:
        self._engine = engine
        self.label = label

    def __repr__(self) -> str:
        return f"<{type(self).__name__} label={self.label!r}>"

    @property
    def widget(self) -> Widget:
        """The live widget record (raises if it was closed or collected)."""
        return self._engine.require(self.label)

    @property
    def token(self) -> str:
        """The widget's token (for tests and host apps; never log it)."""
        return self.widget.token

    @property
    def url(self) -> str:
        """Where a browser opens this widget."""
        engine = self._engine
        prefix = engine.settings.server.widget_prefix
        path = f"{engine.base_path()}{prefix}/{self.label}"
        if engine.public_url:
            return engine.public_url.rstrip("/") + path
        server = engine.settings.server
        scheme = "https" if server.ssl_certfile else "http"
        host = "127.0.0.1" if server.host in ("0.0.0.0", "", "::") else server.host
        return f"{scheme}://{host}:{server.port}{path}"

    # -- core ------------------------------------------------------------------------------------
    def emit(self, event: str, data: Any = None) -> int | None:
        """Send `event` with `data` to every page of this widget."""
        return self._engine.emit(self.label, event, data)

    def update(self, html: str) -> int | None:
        """Replace the widget's content on every page, and for pages opened later."""
        if not isinstance(html, str):
            raise TypeError(f"html must be a string, not {type(html).__name__}")
        widget = self.widget
        with widget.lock:
            widget.state["body"] = html
            rerender(widget)
            return self._engine.emit_to(widget, "pywry:update-html", {"html": widget.content})

    def close(self) -> bool:
        """Remove the widget; its open pages are told it is gone."""
        return self._engine.remove_widget(self.label)

    # -- system events ---------------------------------------------------------------------------
    def alert(self, message: str, type: str = "info", duration: int = 4000) -> int | None:
        """Show a toast on every page (`type` info, success, warning or error; ms, 0 = sticky)."""
        if type not in ALERT_TYPES:
            raise ValueError(f"alert type {type!r} must be one of {', '.join(ALERT_TYPES)}")
        if not isinstance(duration, int) or duration < 0:
            raise ValueError(f"alert duration {duration!r} must be a whole number of ms >= 0")
        return self.emit(
            "pywry:alert", {"message": str(message), "type": type, "duration": duration}
        )

    def download(
        self, filename: str, content: str | bytes, mime_type: str = "application/octet-stream"
    ) -> int | None:
        """Make every page download a file; bytes travel as base64."""
        if not isinstance(filename, str) or not filename or "/" in filename or "\\" in filename:
            raise ValueError(f"filename {filename!r} must be a plain file name")
        data: dict[str, Any] = {"filename": filename, "mimeType": mime_type}
        if isinstance(content, bytes):
            data["content"] = base64.b64encode(content).decode()
            data["encoding"] = "base64"
        elif isinstance(content, str):
            data["content"] = content
        else:
            raise TypeError(f"content must be str or bytes, not {type(content).__name__}")
        return self.emit("pywry:download", data)

    def set_content(self, html: str, selector: str | None = None) -> int | None:
        """Replace the inner HTML of `selector` (default: the whole widget) on every page."""
        data: dict[str, Any] = {"html": html}
        if selector:
            data["selector"] = selector
        return self.emit("pywry:set-content", data)

    def navigate(self, url: str, new_tab: bool = False) -> int | None:
        """Send every page to `url`."""
        return self.emit("pywry:navigate", {"url": url, "newTab": new_tab})

    def inject_css(self, css: str, id: str = "custom") -> int | None:
        """Add (or replace) a stylesheet called `id` on every page."""
        return self.emit("pywry:inject-css", {"id": id, "css": css})

    def remove_css(self, id: str = "custom") -> int | None:
        """Remove the stylesheet called `id`."""
        return self.emit("pywry:remove-css", {"id": id})

    def set_style(self, selector: str, **styles: str) -> int | None:
        """Set inline styles on every element matching `selector`."""
        return self.emit("pywry:set-style", {"selector": selector, "styles": styles})

    def update_theme(self, theme: str) -> int | None:
        """Switch every page to `dark`, `light` or `system` (and pages opened later)."""
        if theme not in ("dark", "light", "system"):
            raise ValueError(f"theme {theme!r} must be 'dark', 'light' or 'system'")
        widget = self.widget
        with widget.lock:
            widget.theme = theme
            if widget.changed is not None:
                widget.changed()
            return self._engine.emit_to(widget, "pywry:update-theme", {"theme": theme})

    def refresh(self) -> int | None:
        """Reload every page."""
        return self.emit("pywry:refresh", {})

    # -- toolbars and secrets --------------------------------------------------------------------
    def set_toolbar_value(self, component_id: str, value: Any = ..., **extra: Any) -> int | None:
        """Set a toolbar item on every page (`toolbar:set-value`) and for pages opened later."""
        data = set_value_message(component_id, value, **extra)
        widget = self.widget
        with widget.lock:
            toolbars = widget.state.get("toolbars")
            if not toolbars or not apply_set_value(toolbars, data):
                raise ValueError(
                    f"widget {self.label!r} has no toolbar item with component_id {component_id!r}"
                )
            rerender(widget)
            return self._engine.emit_to(widget, "toolbar:set-value", data)

    def get_secret(self, component_id: str) -> str | None:
        """The value typed into this widget's SecretInput `component_id`, or None (never sent)."""
        widget = self.widget
        with widget.lock:
            secret = widget.state.get("secrets", {}).get(component_id)
        return secret if isinstance(secret, str) else None


def rerender(widget: Widget) -> None:
    """Rebuild `widget.content` from `state["body"]` and its toolbars (hold `widget.lock`)."""
    layout = widget.state.get("layout")
    body = widget.state.get("body", "")
    widget.content = layout(body) if callable(layout) else body
    if widget.changed is not None:  # a shared backend: later pages on every worker see it
        widget.changed()


#: The kind of a plain HTML widget (`pywry.inline.show`).
HTML: WidgetKind[WidgetHandle] = WidgetKind(name="html", handle=WidgetHandle)
