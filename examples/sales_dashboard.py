"""The Full Example dashboard dashboard, shared by the framework examples (flask_app.py,
aiohttp_app.py, fastapi_mount.py): a region Select and "Export CSV" over a Plotly bar chart.

Importing it registers the widget (label "sales"); each host app only mounts pywry and embeds it.
Each visitor's region lives in their session (shared by every worker), so a visitor's choice
redraws their chart only, their reloads and other tabs show it, and their export holds it.
"""

import plotly.express as px

from pywry import current_event
from pywry.inline import show_plotly
from pywry.toolbar import Button, Option, Select, Toolbar

QUARTERS = ["Q1", "Q2", "Q3", "Q4"]
SALES = {"all": [100, 150, 130, 180], "north": [60, 90, 70, 100], "south": [40, 60, 60, 80]}
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


def show_region(region: str) -> None:
    # in a callback these reach the sender's page only; stored pages stay on "All"
    widget.update_figure(make_figure(region))
    widget.set_toolbar_value("region", region)


def on_region(data, event_type, label):
    region = data.get("value")
    if region not in SALES:
        widget.alert(f"Unknown region {region!r}", type="error")
        return
    current_event().session["region"] = region
    show_region(region)


def on_ready(data, event_type, label):
    # a page of this visitor connected (a reload, another tab): show the region they chose
    region = current_event().session.get("region", "all")
    if region != "all" and region in SALES:
        show_region(region)


def on_export(data, event_type, label):
    region = current_event().session.get("region", "all")
    rows = "\n".join(f"{q},{v}" for q, v in zip(QUARTERS, SALES[region], strict=True))
    widget.download("data.csv", "quarter,value\n" + rows, "text/csv")


widget = show_plotly(
    make_figure("all"),
    label="sales",
    title="Sales Dashboard",
    toolbars=[toolbar],
    callbacks={"pywry:ready": on_ready, "chart:region": on_region, "chart:export": on_export},
)
