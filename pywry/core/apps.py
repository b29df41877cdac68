"""Applications: several page factories in one server, each visit making its visitor's widget.

A page factory is a function (sync or `async def`) that calls `pywry.inline.show(...)` (or
`show_plotly`, ...) and returns the handle or its label. Every adapter (and `get_server_app`)
accepts `apps=` as a dict `{"name": factory}`, a list of factories (named after the function)
or a single factory (called "index"), and routes:

- `{base}/app/{name}` and `{base}/?app={name}`: call the factory for this visitor (the widget it
  shows is per-visitor, collected after the visitor leaves) and answer with that widget's page;
- `{base}/`: the "index" application if there is one, else a page listing every application.

`App.apps` holds a `Pages`: these `Applications`, or a folder of application files
(`DirectoryPages`, see `pywry.core.pathdeploy`). Both run a visit through `run_factory`.

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
from .http import HTML, HttpResponse, Request, Response
from .routes import page_response, refused_page
from .widgets import WidgetLimitError

if TYPE_CHECKING:
    from .app import App
    from .users import User

__all__ = ["Applications", "Pages", "html_page", "run_factory"]

log = logging.getLogger("pywry.apps")

AppFactory = Callable[[], Any]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
STATE_KEY = "pywry.app"


class Pages:
    """What an app serves at `{base}/` and at the paths it claims: applications to visit."""

    def claim(self, path: str) -> str | None:
        """The parameter of the application route for `path` (below the base), or None when
        the path is not one of these applications'. `{base}/` is always claimed (as "")."""
        return None

    async def answer(self, app: App, req: Request, param: str) -> Response:
        """The answer to a visit of `param` (a claimed path's parameter, "" for `{base}/`)."""
        raise NotImplementedError


def html_page(status: int, heading: str, body: str = "") -> HttpResponse:
    """A small HTML page (indexes, errors); `body` is HTML, `heading` is text."""
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(heading)}</title></head><body>"
        f"<h1>{html.escape(heading)}</h1>{body}</body></html>"
    )
    return HttpResponse(status, text.encode(), HTML, {"Cache-Control": "no-store"})


def _label(name: str, result: Any) -> str:
    label = result if isinstance(result, str) else getattr(result, "label", None)
    if not isinstance(label, str):
        raise TypeError(
            f"application {name!r} must return the handle of show() (or its label), not {result!r}"
        )
    return label


def failed_page(name: str, exc: BaseException) -> HttpResponse:
    """The 500 page of an application that raised (logged with its traceback)."""
    log.error("application %r failed: %s", name, exc, exc_info=exc)
    return html_page(500, f"Application {name!r} failed")


async def run_factory(
    app: App,
    name: str,
    fn: AppFactory,
    base: str,
    *,
    websocket: bool,
    session: str = "",
    user: User | None = None,
    address: str = "",
) -> HttpResponse:
    """Run page factory `fn` (application `name`) for this visitor; answer with its page.

    A sync factory runs in a worker thread (it may block), an async one on the loop; both see
    the request context, so the widget they show is this visitor's. When no widget can be made
    now (the registry is full, this address made too many) the answer says so, with
    `Retry-After`.
    """
    try:
        with request_scope(app, base, websocket, session, user, address):
            if inspect.iscoroutinefunction(fn):
                result = await fn()
            else:
                result = await asyncio.to_thread(fn)  # copies the request context
                if inspect.isawaitable(result):
                    result = await result
        label = _label(name, result)
        refused = await app.prepare_or_refuse(label)
        if refused is not None:
            return refused
        widget = app.get(label)
        if widget is None:
            raise LookupError(f"application {name!r} returned {label!r}, not a widget")
        widget.state[STATE_KEY] = {"name": name, "base": base}
        return page_response(app, label, base, websocket=websocket)
    except WidgetLimitError as exc:
        log.warning("application %r for %s: %s", name, address or "?", exc)
        return exc.refusal.response()
    except Exception as exc:  # noqa: BLE001 - a broken factory is an error page, not a crash
        return failed_page(name, exc)


class Applications(Pages):
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
    def claim(self, path: str) -> str | None:
        """`/app/{name}` is application `name`."""
        head, _, rest = path[1:].partition("/")
        return rest if head == "app" and rest and "/" not in rest else None

    async def answer(self, app: App, req: Request, param: str) -> Response:
        """`{base}/app/{name}`, or `{base}/` (else the index); `?app=name` wins on either, so
        relative links work from any application's page."""
        chosen = req.query.get("app") or param or None
        code = self.refusal(app, chosen, req.who.user)
        if code is not None:
            return refused_page(app, req, code)
        return await self.visit(
            app,
            chosen,
            req.base,
            websocket=req.websocket,
            session=req.session,
            user=req.who.user,
            address=req.address,
        )

    def choose(self, name: str | None) -> tuple[str | None, HttpResponse | None]:
        """The application to run for `name` (None: index), or an answer to give instead."""
        if name is None or name == "":
            if "index" in self.factories:
                return "index", None
            return None, None
        if name not in self.factories:
            return None, html_page(404, f"No application called {name!r}")
        return name, None

    def index_page(self, base: str) -> HttpResponse:
        """The default index: a list of links to every application."""
        links = "".join(
            f'<li><a href="{html.escape(base, quote=True)}/app/{html.escape(n, quote=True)}">'
            f"{html.escape(n)}</a></li>"
            for n in self.factories
        )
        return html_page(200, "Applications", f'<ul class="pywry-apps">{links}</ul>')

    # -- visiting ----------------------------------------------------------------------------------
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
        """Run application `name` for this visitor and answer with the page of what it showed."""
        chosen, answer = self.choose(name)
        if answer is not None:
            return answer
        if chosen is None:
            return self.index_page(base)
        return await run_factory(
            app,
            chosen,
            self.factories[chosen],
            base,
            websocket=websocket,
            session=session,
            user=user,
            address=address,
        )
