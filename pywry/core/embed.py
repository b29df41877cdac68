"""`<iframe>` markup for a widget page, for a host application's own templates."""

from __future__ import annotations

import html
from typing import Any

from .app import App, default_app
from .widgets import check_label


def widget_path(app: App, label: str, base: str | None = None) -> str:
    """The path of a widget's page under `base` (default: the app's base path now)."""
    return f"{app.base_path(base)}{app.settings.server.widget_prefix}/{check_label(label)}"


def embed_html(
    widget: Any,
    base: str | None = None,
    *,
    app: App | None = None,
    height: str = "480px",
    title: str | None = None,
) -> str:
    """An `<iframe>` showing a widget page; `widget` is a handle from `show()` or a label.

    The iframe keeps the widget's page (bridge, CSS, scripts) apart from the host page;
    downloads and toasts work inside it.
    """
    served = app or getattr(widget, "app", None) or default_app()
    label = widget if isinstance(widget, str) else getattr(widget, "label", None)
    if not isinstance(label, str):
        raise TypeError(f"expected a widget handle or label, not {widget!r}")
    if not isinstance(height, str) or any(ch in height for ch in "\"'<>;"):
        raise ValueError(f"height {height!r} must be a CSS length such as '480px' or '60vh'")
    record = served.get(label)
    name = title or (record.title if record is not None else label)
    src = html.escape(widget_path(served, label, base), quote=True)
    return (
        f'<iframe class="pywry-widget" src="{src}" title="{html.escape(name, quote=True)}" '
        f'data-pywry-label="{html.escape(label, quote=True)}" '
        f'style="width:100%;height:{height};border:0;display:block" loading="eager"></iframe>'
    )
