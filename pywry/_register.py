"""Registering a widget of any kind (HTML, Plotly, table) and the server side of SecretInput."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from typing_extensions import TypedDict, TypeVar, Unpack

from .core.app import App, default_app
from .core.events import current_event
from .core.kinds import WidgetKind
from .core.widgets import Callback, check_callbacks
from .handle import HTML, WidgetHandle, secret_key
from .toolbar import SecretInput, Toolbar, ToolbarItem, copy_toolbars, render_layout

__all__ = ["Toolbars", "check_toolbars", "register_widget", "wrap_secret_callbacks"]

log = logging.getLogger("pywry")

#: The handle `register_widget` returns: that of its `kind`, a plain `WidgetHandle` by default.
H = TypeVar("H", bound=WidgetHandle, default=WidgetHandle)


#: What `toolbars=` takes: one Toolbar or a list of them.
Toolbars = Toolbar | Sequence[Toolbar] | None


def check_toolbars(toolbars: Toolbars | Sequence[Any]) -> list[Toolbar]:
    """The toolbars as a list, each checked to be a `pywry.toolbar.Toolbar`; one Toolbar is a
    list of one."""
    if toolbars is None:
        return []
    if isinstance(toolbars, Toolbar):
        return [toolbars]
    hint = ": put toolbar items in Toolbar(items=[...])"
    if isinstance(toolbars, (str, bytes, dict, BaseModel)) or not isinstance(toolbars, Iterable):
        more = hint if isinstance(toolbars, ToolbarItem) else ""
        raise TypeError(
            f"toolbars must be a pywry.toolbar.Toolbar or a list of them, not {toolbars!r}{more}"
        )
    bars = list(toolbars)
    for i, bar in enumerate(bars):
        if not isinstance(bar, Toolbar):
            more = hint if isinstance(bar, ToolbarItem) else ""
            raise TypeError(f"toolbars[{i}] must be a pywry.toolbar.Toolbar, not {bar!r}{more}")
    return bars


def _secret_ids_by_event(toolbars: Iterable[Toolbar]) -> dict[str, frozenset[str]]:
    """SecretInput component ids grouped by the event they post under."""
    out: dict[str, set[str]] = {}
    for bar in toolbars:
        for item in bar.items:
            if isinstance(item, SecretInput):
                out.setdefault(item.event, set()).add(item.component_id)
    return {event: frozenset(ids) for event, ids in out.items()}


def _store_secret(engine: App, label: str, data: Any, ids: frozenset[str]) -> tuple[bool, Any]:
    """Keep a posted secret in the sender's session; returns (call the user's callback?, data)."""
    if not isinstance(data, dict):
        return True, data
    cid = data.get("componentId")
    if cid not in ids:
        if data.get("secret") is True:
            log.warning("ignored a secret for unknown component %r of widget %r", cid, label)
            return False, None
        return True, data
    value = data.get("value")
    ev = current_event()
    if ev is None or not isinstance(value, str):
        log.warning("ignored a malformed secret post for component %r of widget %r", cid, label)
        return False, None
    key = secret_key(label, cid)
    if value:
        ev.session[key] = value
    else:
        ev.session.pop(key, None)
    return True, {"componentId": cid, "hasValue": bool(value)}


def _secret_wrapper(user: Callback | None, ids: frozenset[str], engine: App) -> Callback:
    """A callback that keeps the secret on the server and hands `user` only `hasValue`."""
    if user is not None and inspect.iscoroutinefunction(user):

        async def async_wrapper(data: Any, event_type: str, label: str, *rest: Any) -> Any:
            go, clean = _store_secret(engine, label, data, ids)
            if not go:
                return None
            return await engine.dispatcher.forward(user, clean, event_type, label, rest)

        return async_wrapper

    def wrapper(data: Any, event_type: str, label: str, *rest: Any) -> Any:
        go, clean = _store_secret(engine, label, data, ids)
        if go and user is not None:
            return engine.dispatcher.forward(user, clean, event_type, label, rest)
        return None

    return wrapper


def wrap_secret_callbacks(
    callbacks: dict[str, Callback] | None,
    toolbars: Sequence[Any] | None,
    engine: App | None = None,
) -> dict[str, Callback]:
    """`callbacks` with the events of every SecretInput wrapped so the secret stays server-side.

    The wrapper stores the posted value in the sender's session (read it back with
    `handle.get_secret(component_id)` in a callback) and calls the user's callback (or the `*`
    one) with `{"componentId": id, "hasValue": bool}` only.
    """
    out = check_callbacks(callbacks)
    eng = engine or default_app()
    for event, ids in _secret_ids_by_event(check_toolbars(toolbars)).items():
        user = out.get(event) or out.get("*")
        out[event] = _secret_wrapper(user, ids, eng)
    return out


class WidgetOptions(TypedDict, total=False):
    """What every `show*` takes besides its content: one declaration for all of them."""

    label: str | None
    title: str
    callbacks: dict[str, Callback] | None
    toolbars: Toolbars
    theme: str | None
    head: str
    state: dict[str, Any] | None
    per_visitor: bool | None
    roles: Sequence[str] | None
    access: Callable[[Any], bool] | None


def register_widget(
    body: str,
    *,
    kind: WidgetKind[H] = HTML,  # type: ignore[assignment]  # H defaults to WidgetHandle
    engine: App | None = None,
    **options: Unpack[WidgetOptions],
) -> H:
    """Register a widget of `kind` whose body is `body` wrapped in `toolbars`; its handle.

    The app serves the kind's assets from now on and the page gets the kind's head tags before
    `head`. `per_visitor=None` makes the widget per-visitor when it is shown while a request is
    handled.
    """
    eng = engine or default_app()
    # the widget's own copies: toolbar:set-value records values in them, and a Toolbar given
    # to several widgets must not show one widget's values in another's pages
    bars = copy_toolbars(check_toolbars(options.get("toolbars")))
    layout: Callable[[str], str] | None = None
    if bars:

        def layout(content: str) -> str:
            return render_layout(content, bars)

    widget_state = dict(options.get("state") or {})
    widget_state["body"] = body
    if layout is not None:
        widget_state["layout"] = layout
        widget_state["toolbars"] = bars
    eng.assets.use(kind)
    per_visitor = options.get("per_visitor")
    widget = eng.add_widget(
        layout(body) if layout is not None else body,
        label=options.get("label"),
        title=options.get("title", "PyWry"),
        callbacks=wrap_secret_callbacks(options.get("callbacks"), bars, eng),
        head=kind.head(eng) + options.get("head", ""),
        kind=kind.name,
        theme=options.get("theme"),
        per_visitor=eng.shows_per_visitor() if per_visitor is None else per_visitor,
        state=widget_state,
        roles=options.get("roles"),
        access=options.get("access"),
    )
    return kind.handle(eng, widget.label)
