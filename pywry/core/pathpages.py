"""A folder of application files as an app's pages: what directory deploy serves.

Every path that is not one of pywry's own routes is looked up in the `Directory`: an
application file runs its `main()` for this visitor (`?reload` imports the file again first; a
file that changed is imported again anyway); a folder answers with its `index.py`, else with
the index (a list of links, or `index(folder_path) -> html`, or 404 with `index=False`).
Anything hidden, outside the base or missing answers the same 404.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from .apps import Pages, failed_page, html_page, run_factory
from .http import HTML, HttpResponse, Request, Response
from .pathdeploy import Directory, Found, entry_point
from .routes import own_route, refused_page

if TYPE_CHECKING:
    from .app import App

__all__ = ["DirectoryPages", "IndexOption"]

#: `True` (the default list), `False` (404) or a callable(folder path) -> HTML.
IndexOption = bool | Callable[[str], str]
RELOAD = "reload"


class DirectoryPages(Pages):
    """The applications of a folder, at their paths (`A/b.py` at `{base}/A/b`)."""

    def __init__(self, base: str | Path, index: IndexOption = True) -> None:
        if not isinstance(index, bool) and not callable(index):
            raise TypeError(f"index must be True, False or a callable(path) -> html, not {index!r}")
        self.directory = Directory(base)
        self.index = index

    def claim(self, path: str) -> str | None:
        """Every path that pywry's own routes leave is looked up in the folder."""
        return path

    async def answer(self, app: App, req: Request, param: str) -> Response:
        """The application or folder index at `param`, or 404."""
        found = self.directory.find(param)
        if found is None:
            return missing()
        if found.folder:
            own = self.directory.index_of(found)
            if own is None:
                return await self._index(app, req, found)
            found = own
        return await self._visit(app, req, found)

    async def _visit(self, app: App, req: Request, found: Found) -> Response:
        reload = RELOAD in req.query
        try:  # importing runs the author's module code: off the loop, as the factory runs
            module = await asyncio.to_thread(self.directory.module, found, reload=reload)
            entry = entry_point(module)
        except Exception as exc:  # noqa: BLE001 - a broken file is an error page, not a crash
            return failed_page(found.name, exc)
        code = app.access.rules_refusal(req.who.user, entry.roles, entry.access)
        if code is not None:
            return refused_page(app, req, code)
        return await run_factory(
            app,
            found.name,
            entry.main,
            req.base,
            websocket=req.websocket,
            session=req.session,
            user=req.who.user,
            address=req.address,
        )

    async def _index(self, app: App, req: Request, folder: Found) -> Response:
        code = app.access.rules_refusal(req.who.user, (), None)
        if code is not None:
            return refused_page(app, req, code)
        if self.index is False:
            return missing()
        if callable(self.index):
            try:
                text = await asyncio.to_thread(self.index, str(folder.path))
                if not isinstance(text, str):
                    raise TypeError(f"index() must return an HTML string, not {text!r}")
            except Exception as exc:  # noqa: BLE001 - the author's index page failed
                return failed_page(f"index of /{folder.name}", exc)
            return HttpResponse(200, text.encode(), HTML, {"Cache-Control": "no-store"})
        return self._listing(app, req.base, folder)

    def _listing(self, app: App, base: str, folder: Found) -> HttpResponse:
        """The default index: links to the parent, the subfolders and the applications that
        pywry's own routes do not shadow."""
        listing = self.directory.listing(folder)
        items: list[tuple[str, str]] = []
        if folder.name:
            parent = folder.name.rpartition("/")[0]
            items.append((f"{base}/{quote(parent)}", "../"))
        for name in listing.folders:
            if own_route(app, f"/{name}/x") is None:
                items.append((f"{base}/{quote(name)}/", name.rpartition("/")[2] + "/"))
        for name in listing.apps:
            if own_route(app, f"/{name}") is None:
                items.append((f"{base}/{quote(name)}", name.rpartition("/")[2]))
        links = "".join(
            f'<li><a href="{html.escape(href, quote=True)}">{html.escape(text)}</a></li>'
            for href, text in items
        )
        return html_page(200, f"Index of /{folder.name}", f'<ul class="pywry-apps">{links}</ul>')


def missing() -> HttpResponse:
    """The one answer for whatever is not served: hidden, outside the base, or not there."""
    return html_page(404, "Not found")
