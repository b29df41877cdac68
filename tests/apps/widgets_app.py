"""A deploy-mode app for the widget e2e tests: chart clicks, a 1M-row grid, alerts, secrets."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pywry.inline import deploy, get_server_app, show, show_dataframe, show_plotly
from pywry.toolbar import Button, Div, Option, SecretInput, Select, Toolbar

app = get_server_app()

N_ROWS = 1_000_000


def million_rows() -> pd.DataFrame:
    """1,000,000 rows; `score` is a permutation of distinct integers, so its order is unique."""
    ids = np.arange(N_ROWS, dtype=np.int64)
    return pd.DataFrame(
        {
            "id": ids,
            "name": pd.Series(ids).map("row-{:07d}".format),
            "score": (ids * 7919) % 1_000_003,
            "group": np.array(["alpha", "beta", "gamma", "delta"])[ids % 4],
        }
    )


# -- chart: a click answers in a toolbar Div ---------------------------------------------------
def on_bar_click(data, event_type, label):
    point = data["points"][0]
    chart.set_toolbar_value("answer", text=f"clicked {point['x']} = {point['y']}")
    chart.update_layout(title=f"last click: {point['x']}")


chart = show_plotly(
    go.Figure(go.Bar(x=["Q1", "Q2", "Q3", "Q4"], y=[10, 20, 30, 40])),
    label="chart",
    title="Chart",
    toolbars=[Toolbar(items=[Div(component_id="answer", content="no click yet")])],
    callbacks={"plotly:click": on_bar_click},
)

# -- grid: a million rows, paged on the server -------------------------------------------------
GRID_HEAD = """<script>
  window.pywryTest = {cells: [], selections: []};
  window.pywry.on("app:cell", (d) => window.pywryTest.cells.push(d));
  window.pywry.on("app:rows", (d) => window.pywryTest.selections.push(d));
</script>"""


def on_cell(data, event_type, label):
    grid.emit("app:cell", data)


def on_rows(data, event_type, label):
    grid.emit("app:rows", {"count": len(data["rows"]), "ids": [r["id"] for r in data["rows"]]})


grid = show_dataframe(
    million_rows(),
    label="grid",
    title="A million rows",
    page_size=100,
    head=GRID_HEAD,
    filename="rows.csv",
    export_limit=2_000,
    callbacks={"grid:cell-click": on_cell, "grid:row-select": on_rows},
)

# -- alerts -------------------------------------------------------------------------------------
alerts = show(
    '<button id="toast">toast</button>'
    "<script>document.getElementById('toast').onclick = () => "
    "window.pywry.emit('app:toast', {});</script>",
    label="alerts",
    callbacks={"app:toast": lambda d, e, lbl: alerts.alert("Saved!", type="success", duration=700)},
)

# -- toolbar labels are text, never markup -----------------------------------------------------
EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
xss = show(
    "<p id='body'>labels</p>",
    label="xss",
    toolbars=[
        Toolbar(
            items=[
                Button(event="app:noop", label=EVIL, component_id="evil-button"),
                Select(
                    event="app:noop",
                    label=EVIL,
                    options=[Option(label=EVIL, value="x")],
                    component_id="evil-select",
                ),
            ]
        )
    ],
    callbacks={"app:noop": lambda d, e, lbl: None},
)


# -- secrets: each widget keeps its own ----------------------------------------------------------
def secret_widget(name: str):
    holder = {}

    def on_secret(data, event_type, label):
        holder["w"].set_toolbar_value("out", text=f"hasValue {str(data['hasValue']).lower()}")
        holder["data"] = data

    def on_check(data, event_type, label):
        secret = holder["w"].get_secret("api-key")
        text = "no secret" if secret is None else f"secret of {len(secret)} chars"
        keys = sorted(holder.get("data", {}))
        holder["w"].set_toolbar_value("out", text=f"{text}; callback saw {keys}")

    holder["w"] = show(
        f"<p>{name}</p>",
        label=name,
        toolbars=[
            Toolbar(
                items=[
                    SecretInput(event="app:secret", component_id="api-key", label="API key"),
                    Button(event="app:check", label="Check", component_id="check"),
                    Div(component_id="out", content="nothing yet"),
                ]
            )
        ],
        callbacks={"app:secret": on_secret, "app:check": on_check},
    )
    return holder["w"]


secret_a = secret_widget("secret-a")
secret_b = secret_widget("secret-b")


if __name__ == "__main__":
    deploy()
