"""aiohttp host with pywry as a sub-application; several processes may share the port."""

from __future__ import annotations

import os
import sys

from aiohttp import web

from pywry.adapters.aiohttp import aiohttp_app
from tests.apps.frameworks.widgets import OPTIONS, visit_page


async def home(request: web.Request) -> web.Response:
    return web.Response(text="host home")


async def visit(request: web.Request) -> web.Response:
    return web.Response(text=visit_page(), content_type="text/html")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/host/home", home)
    app.router.add_get("/host/visit", visit)
    app.add_subapp("/pywry", aiohttp_app(**OPTIONS))
    return app


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    web.run_app(
        make_app(),
        host="127.0.0.1",
        port=port,
        reuse_port="--reuse-port" in sys.argv,
        print=None,
        access_log=None,
    )
