# The Full Example dashboard inside a Flask application: the host's own page at "/" embeds the
# dashboard (a Select and an "Export CSV" button over a Plotly chart), pywry lives under /pywry.
# Flask is WSGI, so the browser talks to pywry over the HTTP stream (server-sent events + POST).
#
# Needs: pip install 'pywry-server[flask,plotly,pandas]' flask-wtf gunicorn
# Run:  gunicorn -k gthread --threads 16 -w 1 -b 127.0.0.1:8080 --chdir examples flask_app:app
#  or:  python examples/flask_app.py            (Flask's own threaded server, for development)
# Several workers (-w 4) need a shared backend: PYWRY_DEPLOY__STATE_BACKEND=sqlite (or redis).
import os

from flask import Flask, render_template_string
from flask_wtf.csrf import CSRFProtect
from sales_dashboard import widget  # the dashboard: examples/sales_dashboard.py

from pywry.adapters.flask import blueprint

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
