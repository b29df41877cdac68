"""examples/flask_app.py (the sales dashboard in a Flask page) plus one route that talks to every
page from outside any callback, for tests/e2e/test_flask_visitors_e2e.py.

    gunicorn -w 3 -k gthread --threads 16 tests.apps.flask_visitors:app

`POST /announce` `{"nonce": "..."}` emits `app:announce` on the dashboard (no event is being
handled, so it reaches every page) and answers with the pid of the worker that ran it; `GET /pid`
only answers it. Every answer, pywry's included, carries that pid in `X-Worker-Pid`, so a test
can see which worker served what.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

from flask import jsonify, request  # noqa: E402
from flask_app import app  # noqa: E402  (registers pywry's blueprint under /pywry)
from sales_dashboard import widget  # noqa: E402

from pywry import current_event  # noqa: E402


@app.post("/announce")
def announce():
    assert current_event() is None  # a plain route: no pywry event is being handled
    body = request.get_json(force=True, silent=True) or {}
    pid = os.getpid()
    widget.emit("app:announce", {"nonce": str(body.get("nonce", "")), "pid": pid})
    return jsonify({"pid": pid})


app.extensions["csrf"].exempt(announce)  # a test hook, not a form


@app.get("/pid")
def pid():
    """Which worker answers (a host route: it does not touch pywry)."""
    return jsonify({"pid": os.getpid()})


@app.after_request
def tag_worker(response):
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response
