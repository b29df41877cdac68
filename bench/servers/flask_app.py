"""pywry under Flask (WSGI, HTTP stream transport), for gunicorn: the round-trip widgets.

gunicorn -k gthread --threads 64 -w 1 bench.servers.flask_app:app
"""

from __future__ import annotations

import os

from flask import Flask

from pywry.adapters.flask import blueprint
from pywry.inline import show

app = Flask(__name__)
app.register_blueprint(blueprint(), url_prefix="/pywry")
handles = {}


def on_ping(data, event_type, label):
    handles[label].emit("app:pong", data)


for i in range(int(os.environ.get("BENCH_RT_WIDGETS", "10"))):
    label = f"rt-{i}"
    handles[label] = show("<p>round trip</p>", label=label, callbacks={"app:ping": on_ping})


@app.get("/health")
def health() -> str:
    return "ok"


@app.post("/echo")
def echo() -> bytes:
    """Plain Flask, no pywry: the floor of one POST round trip under this gunicorn."""
    from flask import request  # noqa: PLC0415

    return request.get_data()
