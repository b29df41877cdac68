"""Django adapter: URLconf, views, template tag, and an ASGI wrapper for WebSockets.

    # urls.py
    path("pywry/", include("pywry.adapters.django.urls"))
    # settings.py (optional)
    INSTALLED_APPS += ["pywry.adapters.django"]          # {% load pywry_tags %}{% pywry_widget w %}
    MIDDLEWARE += ["pywry.adapters.django.middleware.PyWryMiddleware"]  # per-visitor widgets
    PYWRY = {"server": {...}, "deploy": {...}, "allowed_origins": [...], "apps": "mod.APPS"}
    # asgi.py (WebSockets under ASGI)
    application = pywry.adapters.django.asgi.application(get_asgi_application())

Under WSGI the bridge uses the HTTP stream (server-sent events + POST); under ASGI with the
wrapper it uses WebSockets. The POST routes are `csrf_exempt`: the widget token and the origin
check protect them. `ALLOWED_HOSTS` applies to every pywry route.
"""

from __future__ import annotations

from .conf import get_config

__all__ = ["get_config"]
