"""`path("pywry/", include("pywry.adapters.django.urls"))`, or `include(build(**options))`."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path

from ...core.adapter import AdapterConfig
from . import views
from .conf import config_with, get_config

app_name = "pywry"


def patterns(cfg: AdapterConfig) -> list[URLPattern]:
    """The pywry URL patterns served with `cfg`."""
    prefix = cfg.engine.settings.server.widget_prefix.strip("/")
    kw = {"pywry_config": cfg}
    found = [
        path(f"{prefix}/<str:label>", views.page, kw, name="page"),
        path("sse/<str:label>", views.sse, kw, name="sse"),
        path("events/<str:label>", views.events, kw, name="events"),
        path("disconnect/<str:label>", views.disconnect, kw, name="disconnect"),
        path("pywry-static/<str:name>", views.static, kw, name="static"),
        path("health", views.health, kw, name="health"),
    ]
    if cfg.static_dir is not None:
        found.append(path("static/<path:path>", views.host_static, kw, name="host-static"))
    if cfg.apps is not None:
        found.append(path("", views.index, kw, name="index"))
        found.append(path("app/<str:name>", views.index, kw, name="app"))
    return found


def build(**options: Any) -> tuple[list[URLPattern], str]:
    """For `include()`: the patterns with adapter options (over those of `settings.PYWRY`)."""
    return patterns(config_with(**options) if options else get_config()), app_name


urlpatterns = patterns(get_config())
