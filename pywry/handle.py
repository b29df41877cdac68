"""`WidgetHandle`: what `show()` returns; the Python side of one widget, and the HTML kind.

A kind of widget with methods of its own (`pywry.plotly.PlotlyHandle`,
`pywry.dataframe.TableHandle`) subclasses `WidgetHandle`; `HTML` is the kind of a plain widget.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from .core.app import App
from .core.events import current_event
from .core.kinds import WidgetKind, register_kind
from .core.widgets import Widget
from .toolbar import apply_set_value, set_value_message

ALERT_TYPES = ("info", "success", "warning", "error")


class WidgetHandle:
    """The Python side of one widget: what its pages show, on this worker and (shared) all.

    Who a call reaches (`to`): outside callbacks, every page of the widget. Inside a callback
    for an event of this widget, the page that sent the event (one visitor's export downloads
    in that visitor's browser); `to="all"` every page from there too, `to="session"` every page
    of the sender's session. Content changes that reach every page (`update`, `update_theme`,
    `set_toolbar_value`, and the kinds' own) are also kept for pages opened later; those that
    reach one page or session change only those pages.

    Every method is safe from any thread, from sync or async code, inside or outside a callback.
    Methods that send return the message's sequence number in its stream, or None with a
    shared backend (it numbers messages when it publishes them).
    """

    def __init__(self, engine: App, label: str) -> None:
        self._engine = engine
        self.label = label

    def __repr__(self) -> str:
        return f"<{type(self).__name__} label={self.label!r}>"

    @property
    def app(self) -> App:
        """The app that serves this widget."""
        return self._engine

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
    def emit(self, event: str, data: Any = None, *, to: str | None = None) -> int | None:
        """Send `event` with `data` to the pages `to` addresses (see the class)."""
        return self._engine.emit(self.label, event, data, to=to)

    def _change(
        self, apply: Callable[[Widget], None], event: str, data: Any, to: str | None
    ) -> int | None:
        """Send a content change; kept for later pages only when it reaches every page.

        `apply` edits the widget record (under its lock) when the change is for everyone.
        """
        widget = self.widget
        key = self._engine.audience(widget, to)
        with widget.lock:
            if key is None:
                apply(widget)
            return self._engine.send(widget, event, data, key)

    def update(self, html: str, *, to: str | None = None) -> int | None:
        """Replace the widget's content (for everyone: also for pages opened later)."""
        if not isinstance(html, str):
            raise TypeError(f"html must be a string, not {type(html).__name__}")
        widget = self.widget
        layout = widget.state.get("layout")
        content = layout(html) if callable(layout) else html

        def store(record: Widget) -> None:
            record.state["body"] = html
            rerender(record)

        return self._change(store, "pywry:update-html", {"html": content}, to)

    def close(self) -> bool:
        """Remove the widget; its open pages are told it is gone."""
        return self._engine.remove_widget(self.label)

    # -- system events ---------------------------------------------------------------------------
    def alert(
        self, message: str, type: str = "info", duration: int = 4000, *, to: str | None = None
    ) -> int | None:
        """Show a toast (`type` info, success, warning or error; `duration` ms, 0 = sticky)."""
        if type not in ALERT_TYPES:
            raise ValueError(f"alert type {type!r} must be one of {', '.join(ALERT_TYPES)}")
        if not isinstance(duration, int) or duration < 0:
            raise ValueError(f"alert duration {duration!r} must be a whole number of ms >= 0")
        data = {"message": str(message), "type": type, "duration": duration}
        return self.emit("pywry:alert", data, to=to)

    def download(
        self,
        filename: str,
        content: str | bytes,
        mime_type: str = "application/octet-stream",
        *,
        to: str | None = None,
    ) -> int | None:
        """Make the addressed pages download a file; bytes travel as base64."""
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
        return self.emit("pywry:download", data, to=to)

    def set_content(
        self, html: str, selector: str | None = None, *, to: str | None = None
    ) -> int | None:
        """Replace the inner HTML of `selector` (default: the whole widget)."""
        data: dict[str, Any] = {"html": html}
        if selector:
            data["selector"] = selector
        return self.emit("pywry:set-content", data, to=to)

    def navigate(self, url: str, new_tab: bool = False, *, to: str | None = None) -> int | None:
        """Send the addressed pages to `url`."""
        return self.emit("pywry:navigate", {"url": url, "newTab": new_tab}, to=to)

    def inject_css(self, css: str, id: str = "custom", *, to: str | None = None) -> int | None:
        """Add (or replace) a stylesheet called `id`."""
        return self.emit("pywry:inject-css", {"id": id, "css": css}, to=to)

    def remove_css(self, id: str = "custom", *, to: str | None = None) -> int | None:
        """Remove the stylesheet called `id`."""
        return self.emit("pywry:remove-css", {"id": id}, to=to)

    def set_style(self, selector: str, *, to: str | None = None, **styles: str) -> int | None:
        """Set inline styles on every element matching `selector`."""
        return self.emit("pywry:set-style", {"selector": selector, "styles": styles}, to=to)

    def update_theme(self, theme: str, *, to: str | None = None) -> int | None:
        """Switch to `dark`, `light` or `system` (for everyone: also pages opened later)."""
        if theme not in ("dark", "light", "system"):
            raise ValueError(f"theme {theme!r} must be 'dark', 'light' or 'system'")

        def store(record: Widget) -> None:
            record.theme = theme
            if record.changed is not None:
                record.changed()

        return self._change(store, "pywry:update-theme", {"theme": theme}, to)

    def refresh(self, *, to: str | None = None) -> int | None:
        """Reload the addressed pages."""
        return self.emit("pywry:refresh", {}, to=to)

    # -- toolbars and secrets --------------------------------------------------------------------
    def set_toolbar_value(
        self, component_id: str, value: Any = ..., *, to: str | None = None, **extra: Any
    ) -> int | None:
        """Set a toolbar item (`toolbar:set-value`; for everyone also for later pages)."""
        data = set_value_message(component_id, value, **extra)
        toolbars = self.widget.state.get("toolbars")
        if not toolbars or not any(_has_item(bar, component_id) for bar in toolbars):
            raise ValueError(
                f"widget {self.label!r} has no toolbar item with component_id {component_id!r}"
            )

        def store(record: Widget) -> None:
            apply_set_value(record.state.get("toolbars") or [], data)
            rerender(record)

        return self._change(store, "toolbar:set-value", data, to)

    def get_secret(self, component_id: str) -> str | None:
        """What the sender's session typed into SecretInput `component_id` (never sent).

        Inside a callback: the sender's value; outside: None (a secret belongs to a session).
        """
        ev = current_event()
        if ev is None or ev.app is not self._engine:
            return None
        secret = ev.session.get(secret_key(self.label, component_id))
        return secret if isinstance(secret, str) else None


def secret_key(label: str, component_id: str) -> str:
    """Where a session keeps what it typed into a widget's SecretInput."""
    return f"pywry.secret:{label}:{component_id}"


def _has_item(bar: Any, component_id: str) -> bool:
    finder = getattr(bar, "find", None)
    return callable(finder) and finder(component_id) is not None


def rerender(widget: Widget) -> None:
    """Rebuild `widget.content` from `state["body"]` and its toolbars (hold `widget.lock`)."""
    layout = widget.state.get("layout")
    body = widget.state.get("body", "")
    widget.content = layout(body) if callable(layout) else body
    if widget.changed is not None:  # a shared backend: later pages on every worker see it
        widget.changed()


#: Room around plain HTML (charts and tables fill the page instead): around the content, or
#: with toolbars around the region between them, which stay flush with the page's edges.
_ROOM = "<style>.pywry-root:not(:has(>.pywry-layout)),.pywry-content{padding:16px}</style>"


def _html_head(app: App) -> str:
    return _ROOM


#: The kind of a plain HTML widget (`pywry.inline.show`).
HTML: WidgetKind[WidgetHandle] = register_kind(
    WidgetKind(name="html", handle=WidgetHandle, head=_html_head)
)
