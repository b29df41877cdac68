"""Moving pages between applications (page factories) from Python."""

from __future__ import annotations

from typing import Any

from .app import App, default_app
from .apps import NAME, STATE_KEY

__all__ = ["app_url", "go_app"]


def _label_of(widget: Any) -> str:
    label = widget if isinstance(widget, str) else getattr(widget, "label", None)
    if not isinstance(label, str):
        raise TypeError(f"expected a widget handle or label, not {widget!r}")
    return label


def app_url(widget: Any, name: str, *, app: App | None = None) -> str:
    """The URL path of application `name`, next to the application that showed `widget`."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"application name {name!r} must be 1-64 letters, digits, '_' or '-'")
    eng = app or default_app()
    record = eng.require(_label_of(widget))
    info = record.state.get(STATE_KEY) or {}
    base = info.get("base")
    if not isinstance(base, str):
        base = eng.base_path()
    return f"{base}/app/{name}"


def go_app(widget: Any, name: str, *, new_tab: bool = False, app: App | None = None) -> Any:
    """Send every page of `widget` to application `name` (a `pywry:navigate`)."""
    eng = app or default_app()
    url = app_url(widget, name, app=eng)
    return eng.emit(_label_of(widget), "pywry:navigate", {"url": url, "newTab": new_tab})
