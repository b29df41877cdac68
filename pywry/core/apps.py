"""Applications: several page factories in one server, each visit making its visitor's widget.

A page factory is a function (sync or `async def`) that calls `pywry.inline.show(...)` (or
`show_plotly`, ...) and returns the handle or its label. Every adapter (and `get_server_app`)
accepts `apps=` as a dict `{"name": factory}`, a list of factories (named after the function)
or a single factory (called "index"), and routes:

- `{base}/app/{name}` and `{base}/?app={name}`: call the factory for this visitor (the widget it
  shows is per-visitor, collected after the visitor leaves) and answer with that widget's page;
- `{base}/`: the "index" application if there is one, else a page listing every application.

From a callback, `pywry.go_app("report")` sends the page that sent the event to another
application (a `pywry:navigate` to `{base}/app/report`; `widget=` moves every page of a
widget); plain links work too: `<a href="?app=report">` on any application's page.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .context import request_scope
from .http import HTML, HttpResponse
from .routes import page_response
from .widgets import WidgetLimitError

if TYPE_CHECKING:
    from .app import App
    from .users import User

__all__ = ["Applications"]

log = logging.getLogger("pywry.apps")

AppFactory = Callable[[], Any]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
STATE_KEY = "pywry.app"


class Applications:
    """The validated set of page factories of one adapter."""

    def __init__(self, apps: Mapping[str, AppFactory] | Sequence[AppFactory] | AppFactory) -> None:
        if callable(apps) and not isinstance(apps, Mapping):
            items: list[tuple[Any, Any]] = [("index", apps)]
        elif isinstance(apps, Mapping):
            items = list(apps.items())
        elif isinstance(apps, Sequence) and not isinstance(apps, (str, bytes)):
            items = [(getattr(fn, "__name__", None), fn) for fn in apps]
        else:
            raise TypeError(
                f"apps must be a dict of name -> page factory, a list of factories or one "
                f"factory, not {apps!r}"
            )
        self.factories: dict[str, AppFactory] = {}
        for name, fn in items:
            if not callable(fn):
                raise TypeError(f"application {name!r} is not callable: {fn!r}")
            if not isinstance(name, str) or not NAME.match(name):
                raise ValueError(
                    f"application name {name!r} must be 1-64 letters, digits, '_' or '-'"
                )
            if name in self.factories:
                raise ValueError(f"application name {name!r} is given twice")
            self.factories[name] = fn
        if not self.factories:
            raise ValueError("apps must name at least one page factory")

    @property
    def names(self) -> list[str]:
        """Every application name, in the order given."""
        return list(self.factories)

    def same_as(self, other: Applications) -> bool:
        """The same names for functions of the same names: what running one script twice in a
        process gives (a reloader's or worker's child runs it as `__mp_main__`, then imports
        it by its module name)."""

        def shape(apps: Applications) -> list[tuple[str, str | None]]:
            return [(n, getattr(fn, "__qualname__", None)) for n, fn in apps.factories.items()]

        return shape(self) == shape(other)

    # -- routing -----------------------------------------------------------------------------------
    def choose(self, name: str | None) -> tuple[str | None, HttpResponse | None]:
        """The application to run for `name` (None: index), or an answer to give instead."""
        if name is None or name == "":
            if "index" in self.factories:
                return "index", None
            return None, None
        if name not in self.factories:
            return None, self._page(404, f"No application called {name!r}", None)
        return name, None

    def index_page(self, base: str) -> HttpResponse:
        """The default index: a list of links to every application."""
        return self._page(200, "Applications", base)

    def _page(self, status: int, heading: str, base: str | None) -> HttpResponse:
        links = ""
        if base is not None:
            links = "".join(
                f'<li><a href="{html.escape(base, quote=True)}/app/{html.escape(n, quote=True)}">'
                f"{html.escape(n)}</a></li>"
                for n in self.factories
            )
            links = f'<ul class="pywry-apps">{links}</ul>'
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(heading)}</title></head><body>"
            f"<h1>{html.escape(heading)}</h1>{links}</body></html>"
        )
        return HttpResponse(status, body.encode(), HTML, {"Cache-Control": "no-store"})

    # -- visiting ----------------------------------------------------------------------------------
    def _label(self, name: str, result: Any) -> str:
        label = result if isinstance(result, str) else getattr(result, "label", None)
        if not isinstance(label, str):
            raise TypeError(
                f"application {name!r} must return the handle of show() (or its label), "
                f"not {result!r}"
            )
        return label

    def _failed(self, name: str, exc: BaseException) -> HttpResponse:
        log.error("application %r failed: %s", name, exc, exc_info=exc)
        return self._page(500, f"Application {name!r} failed", None)

    def refusal(self, app: App, name: str | None, user: User | None) -> int | None:
        """Why `user` may not open application `name` (its `protect()` rules), or None."""
        fn = self.factories.get(name) if name else None
        roles = tuple(getattr(fn, "pywry_roles", ()))
        return app.access.rules_refusal(user, roles, getattr(fn, "pywry_access", None))

    async def visit(
        self,
        app: App,
        name: str | None,
        base: str,
        *,
        websocket: bool,
        session: str = "",
        user: User | None = None,
        address: str = "",
    ) -> HttpResponse:
        """Run application `name` for this visitor and answer with the page of what it showed.

        A sync factory runs in a worker thread (it may block), an async one on the loop; both
        see the request context, so the widget they show is this visitor's. When no widget can
        be made now (the registry is full, this address made too many) the answer says so,
        with `Retry-After`.
        """
        chosen, answer = self.choose(name)
        if answer is not None:
            return answer
        if chosen is None:
            return self.index_page(base)
        fn = self.factories[chosen]
        try:
            with request_scope(app, base, websocket, session, user, address):
                if inspect.iscoroutinefunction(fn):
                    result = await fn()
                else:
                    result = await asyncio.to_thread(fn)  # copies the request context
                    if inspect.isawaitable(result):
                        result = await result
            label = self._label(chosen, result)
            refused = await app.prepare_or_refuse(label)
            if refused is not None:
                return refused
            widget = app.get(label)
            if widget is None:
                raise LookupError(f"application {chosen!r} returned {label!r}, not a widget")
            widget.state[STATE_KEY] = {"name": chosen, "base": base}
            return page_response(app, label, base, websocket=websocket)
        except WidgetLimitError as exc:
            log.warning("application %r for %s: %s", chosen, address or "?", exc)
            return exc.refusal.response()
        except Exception as exc:  # noqa: BLE001 - a broken factory is an error page, not a crash
            return self._failed(chosen, exc)
