"""A Flask app whose one widget counts: each `app:count` event appends its `n` to the file named
by COUNTER_RUNS and answers the page with `app:counted`. For the Redis outage test over the
HTTP stream (tests/e2e/test_stream_outage_e2e.py)."""

from __future__ import annotations

import os
import threading

from flask import Flask

from pywry import current_event
from pywry.adapters.flask import blueprint
from pywry.inline import show

app = Flask(__name__)
app.register_blueprint(blueprint(), url_prefix="/pywry")
lock = threading.Lock()


def on_count(data, event_type, label):
    with lock, open(os.environ["COUNTER_RUNS"], "a") as out:
        out.write(f"{data['n']}\n")
    current_event().reply("app:counted", {"n": data["n"]})


counter = show("<h1>Counter</h1>", label="counter", callbacks={"app:count": on_count})
