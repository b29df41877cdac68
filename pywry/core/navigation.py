"""Moving pages between applications (page factories) from Python."""

from __future__ import annotations

from typing import Any

from .app import App, default_app
from .apps import NAME, STATE_KEY, Applications
from .events import ALL, SENDER, current_event

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
    if isinstance(eng.apps, Applications) and name not in eng.apps.factories:
        known = ", ".join(eng.apps.names)
        raise ValueError(f"no application called {name!r}; this server has {known}")
    record = eng.require(_label_of(widget))
    info = record.state.get(STATE_KEY) or {}
    base = info.get("base")
    if not isinstance(base, str):
        base = eng.base_path()
    return f"{base}/app/{name}"


def go_app(
    name: str, new_window: bool = False, *, widget: Any = None, app: App | None = None
) -> int | None:
    """Send a page to application `name` (a `pywry:navigate` to `{base}/app/{name}`).

    Called in a callback, it moves the page that sent the event (as PyWebIO's `go_app` does); given
    `widget`, every page of that widget. `new_window` opens the application in a new tab and
    leaves the page where it is. Returns the message's seq (None with a shared backend).
    """
    event = current_event()
    if widget is None:
        if event is None:
            raise RuntimeError(
                f"go_app({name!r}) moves the page that sent an event: call it in a callback, "
                "or say which widget's pages to move with widget="
            )
        eng, label, to = event.app, event.label, SENDER
    else:
        eng, label, to = app or default_app(), _label_of(widget), ALL
    url = app_url(label, name, app=eng)
    return eng.emit(label, "pywry:navigate", {"url": url, "newTab": new_window}, to=to)
