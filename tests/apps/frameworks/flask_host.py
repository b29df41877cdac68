"""Flask host with Flask-WTF CSRF protection on; pywry registered as a blueprint."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask_wtf.csrf import CSRFProtect

from pywry.adapters.flask import blueprint
from pywry.inline import get_widget_html
from tests.apps.frameworks.widgets import OPTIONS, visit_page

app = Flask(__name__)
app.config["SECRET_KEY"] = "host-secret"
app.register_blueprint(blueprint(**OPTIONS), url_prefix="/pywry")
CSRFProtect(app)  # set up after the blueprint on purpose: pywry's posts must stay exempt


@app.post("/host/form")
def form() -> str:
    return "accepted"


@app.get("/host/embed")
def embed() -> str:
    return render_template_string("<main>{{ pywry_widget('board') }}</main>")


@app.get("/host/page")
def whole_page() -> str:
    return get_widget_html("board") or ""


@app.get("/host/visit")
def visit() -> str:
    return visit_page()
