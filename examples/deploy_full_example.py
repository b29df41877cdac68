# The Full Example of the deploy-mode guide: a dashboard with a toolbar, a Plotly chart and
# callback-driven interactions. Each visitor picks their own region: it redraws their chart only
# and is kept in their session, so their reloads and other tabs (on any worker) show it too;
# "Export CSV" downloads the numbers that visitor sees.
# Needs: pip install 'pywry-server[fastapi,plotly,pandas]'
# Run: python examples/deploy_full_example.py   (or `make demo`; then open http://127.0.0.1:8080/)
import os

# Loopback unless told otherwise (PYWRY_SERVER__HOST=0.0.0.0 serves every interface).
os.environ.setdefault("PYWRY_SERVER__HOST", "127.0.0.1")
os.environ.setdefault("PYWRY_SERVER__PORT", "8080")

import plotly.express as px
from fastapi.responses import HTMLResponse

from pywry import current_event
from pywry.inline import deploy, get_server_app, get_widget_html_async, show_plotly
from pywry.toolbar import Button, Option, Select, Toolbar

app = get_server_app()

QUARTERS = ["Q1", "Q2", "Q3", "Q4"]
SALES = {
    "all": [100, 150, 130, 180],
    "north": [60, 90, 70, 100],
    "south": [40, 60, 60, 80],
}
NAMES = {"all": "All regions", "north": "North", "south": "South"}

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


fig = make_figure("all")


def show_region(region: str) -> None:
    # Inside a callback these reach only the page that sent the event: other visitors keep
    # their own chart, and pages opened later start from the stored "All" chart.
    widget.update_figure(make_figure(region))
    widget.set_toolbar_value("region", region)


def on_region(data, event_type, label):
    region = data.get("value")
    if region not in SALES:
        widget.alert(f"Unknown region {region!r}", type="error")
        return
    # The visitor's session (shared by every worker), not a global: visitors differ.
    current_event().session["region"] = region
    show_region(region)


def on_ready(data, event_type, label):
    # A page of this visitor connected (a reload, another tab): show the region they chose
    # (every page opens on "All", the chart stored for everyone).
    region = current_event().session.get("region", "all")
    if region != "all" and region in SALES:
        show_region(region)


def on_export(data, event_type, label):
    region = current_event().session.get("region", "all")
    rows = "\n".join(f"{q},{v}" for q, v in zip(QUARTERS, SALES[region], strict=True))
    widget.download("data.csv", "quarter,value\n" + rows, "text/csv")  # in the sender's page


widget = show_plotly(
    fig,
    title="Sales Dashboard",
    toolbars=[toolbar],
    callbacks={
        "pywry:ready": on_ready,  # sent by every page once it is connected
        "chart:region": on_region,
        "chart:export": on_export,
    },
)


@app.get("/", response_class=HTMLResponse)
async def home():
    html = await get_widget_html_async(widget.label)
    return HTMLResponse(html)


if __name__ == "__main__":
    deploy()
