# The Full Example dashboard inside an aiohttp application: the host's own page at "/" embeds the
# dashboard, pywry is a sub-application at /pywry with native WebSockets.
#
# Needs: pip install 'pywry-server[aiohttp,plotly,pandas]'
# Run:  python examples/aiohttp_app.py
# Several processes on one port (Linux): start it N times with AIOHTTP_REUSE_PORT=1 and
# PYWRY_DEPLOY__STATE_BACKEND=sqlite (or redis); no sticky sessions are needed.
import os

from aiohttp import web
from sales_dashboard import widget  # the dashboard: examples/sales_dashboard.py

from pywry.adapters.aiohttp import aiohttp_app, embed


async def home(request: web.Request) -> web.Response:
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme sales (aiohttp)</title>
<style>body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1rem}}</style>
</head><body>
<header><h1 id="host-title">Acme sales</h1>
<p>An aiohttp page; the dashboard is a pywry widget.</p></header>
{embed(widget, height="560px")}
</body></html>"""
    return web.Response(text=html, content_type="text/html")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", home)
    app.add_subapp("/pywry", aiohttp_app())
    return app


if __name__ == "__main__":
    web.run_app(
        make_app(),
        host=os.environ.get("PYWRY_SERVER__HOST", "127.0.0.1"),
        port=int(os.environ.get("PYWRY_SERVER__PORT", "8080")),
        reuse_port=os.environ.get("AIOHTTP_REUSE_PORT") == "1",
    )
