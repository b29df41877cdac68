"""Django adapter: a URL include, a template tag, and an ASGI wrapper for WebSockets.

    # urls.py
    path("pywry/", include("pywry.adapters.django.urls"))
    # settings.py (optional)
    INSTALLED_APPS += ["pywry.adapters.django"]          # {% load pywry_tags %}{% pywry_widget w %}
    PYWRY = {"server": {...}, "deploy": {...}, "allowed_origins": [...], "apps": "mod.APPS"}
    # asgi.py (WebSockets under ASGI)
    application = pywry.adapters.django.asgi.application(get_asgi_application())

Under WSGI the bridge uses the HTTP stream (server-sent events + POST); under ASGI with the
wrapper it uses WebSockets. pywry's view is `csrf_exempt`: the widget token and the origin
check protect it. `ALLOWED_HOSTS` applies to every pywry route. `show()` in a Django view makes
a per-visitor widget, and `get_widget_html()` renders for the include's path. Without a
project, `wsgi_app(applications)` and `start_server(applications, port=8080)` serve page
factories at the root (`server`).
"""

from __future__ import annotations

from .conf import get_app
from .server import start_server, wsgi_app

__all__ = ["get_app", "start_server", "wsgi_app"]
