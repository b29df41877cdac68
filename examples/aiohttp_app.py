# The seed's Full Example inside an aiohttp application: the host's own page at "/" embeds the
# dashboard, pywry is a sub-application at /pywry with native WebSockets.
#
# Run:  python examples/aiohttp_app.py
# Several processes on one port (Linux): start it N times with AIOHTTP_REUSE_PORT=1 and
# PYWRY_DEPLOY__STATE_BACKEND=sqlite (or redis); no sticky sessions are needed.
import os

import plotly.express as px
from aiohttp import web

from pywry.adapters.aiohttp import aiohttp_app, embed, pywry_middleware
from pywry.inline import show_plotly
from pywry.toolbar import Button, Option, Select, Toolbar

QUARTERS = ["Q1", "Q2", "Q3", "Q4"]
SALES = {"all": [100, 150, 130, 180], "north": [60, 90, 70, 100], "south": [40, 60, 60, 80]}
NAMES = {"all": "All regions", "north": "North", "south": "South"}
current = {"region": "all"}

toolbar = Toolbar(
    position="top",
    items=[
        Select(
            event="chart:region",
            label="Region",
            component_id="region",
            options=[
                Option(label="All", value="all"),
                Option(label="North", value="north"),
                Option(label="South", value="south"),
            ],
            selected="all",
        ),
        Button(event="chart:export", label="Export CSV"),
    ],
)


def make_figure(region: str):
    """The bar chart of one region's quarterly sales."""
    fig = px.bar(x=QUARTERS, y=SALES[region], labels={"x": "Quarter", "y": "Sales"})
    fig.update_layout(title=f"Quarterly sales: {NAMES[region]}")
    return fig


def on_region(data, event_type, label):
    region = data.get("value")
    if region not in SALES:
        widget.alert(f"Unknown region {region!r}", type="error")
        return
    current["region"] = region
    widget.update_figure(make_figure(region))
    widget.set_toolbar_value("region", region)


def on_export(data, event_type, label):
    rows = "\n".join(f"{q},{v}" for q, v in zip(QUARTERS, SALES[current["region"]], strict=True))
    widget.emit(
        "pywry:download",
        {"filename": "data.csv", "content": "quarter,value\n" + rows, "mimeType": "text/csv"},
    )


widget = show_plotly(
    make_figure("all"),
    label="sales",
    title="Sales Dashboard",
    toolbars=[toolbar],
    callbacks={"chart:region": on_region, "chart:export": on_export},
)


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
    app = web.Application(middlewares=[pywry_middleware])  # optional: per-visitor show()
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
