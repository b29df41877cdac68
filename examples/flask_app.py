# The seed's Full Example inside a Flask application: the host's own page at "/" embeds the
# dashboard (a Select and an "Export CSV" button over a Plotly chart), pywry lives under /pywry.
# Flask is WSGI, so the browser talks to pywry over the HTTP stream (server-sent events + POST).
#
# Run:  gunicorn -k gthread --threads 16 -w 1 -b 127.0.0.1:8080 --chdir examples flask_app:app
#  or:  python examples/flask_app.py            (Flask's own threaded server, for development)
# Several workers (-w 4) need a shared backend: PYWRY_DEPLOY__STATE_BACKEND=sqlite (or redis).
import os

import plotly.express as px
from flask import Flask, render_template_string
from flask_wtf.csrf import CSRFProtect

from pywry.adapters.flask import blueprint
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

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY", "change-me")
CSRFProtect(app)  # the host's forms stay protected; pywry's posts carry the widget token
app.register_blueprint(blueprint(), url_prefix="/pywry")

HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme sales (Flask)</title>
<style>body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1rem}</style>
</head><body>
<header><h1 id="host-title">Acme sales</h1>
<p>A Flask page; the dashboard is a pywry widget.</p></header>
{{ pywry_widget(widget, height="560px") }}
</body></html>"""


@app.get("/")
def home():
    return render_template_string(HOME, widget=widget)


if __name__ == "__main__":
    app.run(
        host=os.environ.get("PYWRY_SERVER__HOST", "127.0.0.1"),
        port=int(os.environ.get("PYWRY_SERVER__PORT", "8080")),
        threaded=True,
    )
