"""A widget whose callback calls any handle helper, for what-arrives-where tests.

`uvicorn tests.apps.helpers_app:app`. Event `app:call` {"name", "args", "kwargs"} calls
`handle.<name>(*args, **kwargs)` inside the callback (so it reaches the sender); `app:mark`
emits `app:marker` to every page, to show what the other pages received before it. The Plotly
widget "helpers-chart" takes the same two events for its own helpers (`update_figure` gets a
figure dict).
"""

from __future__ import annotations

import base64

from pywry.inline import get_server_app, show, show_plotly
from pywry.toolbar import Option, Select, Toolbar

app = get_server_app()
toolbar = Toolbar(
    items=[
        Select(
            event="app:region",
            component_id="region",
            options=[Option(label="All", value="all"), Option(label="North", value="north")],
            selected="all",
        )
    ]
)


def on_call(data, event_type, label):
    args = list(data.get("args", []))
    if data.get("bytes"):
        args[1] = base64.b64decode(args[1])
    getattr(handle, data["name"])(*args, **data.get("kwargs", {}))


def on_mark(data, event_type, label):
    handle.emit("app:marker", {"n": data.get("n")}, to="all")


handle = show(
    "<p>helpers</p>",
    label="helpers",
    toolbars=[toolbar],
    callbacks={"app:call": on_call, "app:mark": on_mark},
)


def on_chart_call(data, event_type, label):
    getattr(chart, data["name"])(*data.get("args", []), **data.get("kwargs", {}))


def on_chart_mark(data, event_type, label):
    chart.emit("app:marker", {"n": data.get("n")}, to="all")


chart = show_plotly(
    {
        "data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2]}],
        "layout": {"title": {"text": "base"}},
    },
    label="helpers-chart",
    callbacks={"app:call": on_chart_call, "app:mark": on_chart_mark},
)
