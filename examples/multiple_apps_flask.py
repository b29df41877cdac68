"""`wsgi_app()` for Flask: the applications of multiple_apps.py as a WSGI app for gunicorn.

Run: `gunicorn -k gthread --threads 16 --chdir examples multiple_apps_flask:app`
"""

# Needs: pip install 'pywry-server[flask]' gunicorn

from __future__ import annotations

from multiple_apps import APPS

from pywry.adapters.flask import wsgi_app

app = wsgi_app(APPS)  # a Flask app: add routes of your own as usual
