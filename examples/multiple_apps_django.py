"""`wsgi_app()` for Django: the applications of multiple_apps.py without a Django project.

Run: `gunicorn -k gthread --threads 16 --chdir examples multiple_apps_django:application`
"""

# Needs: pip install 'pywry-server[django]' gunicorn

from __future__ import annotations

from multiple_apps import APPS

from pywry.adapters.django import wsgi_app

application = wsgi_app(APPS)  # configures Django's settings: the first to do so in the process
