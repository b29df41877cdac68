"""The URLconf of `wsgi_app()` and `start_server()`: pywry's routes at the root."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("", include("pywry.adapters.django.urls"))]
