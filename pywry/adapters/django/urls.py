"""`path("pywry/", include("pywry.adapters.django.urls"))`, or `include(build(**options))`."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, re_path

from ...core.app import App
from . import views
from .base import probe_for
from .conf import get_app

app_name = "pywry"


def patterns(app: App) -> list[URLPattern]:
    """One pattern for every pywry route: the core's WSGI side answers them."""
    app.add_probe(app.extensions.setdefault("django-probe", probe_for(app)))
    return [re_path(r"^(?P<rest>.*)$", views.serve, {"pywry_app": app}, name="serve")]


def build(**options: Any) -> tuple[list[URLPattern], str]:
    """For `include()`: the patterns with adapter options (over those of `settings.PYWRY`)."""
    return patterns(get_app(**options)), app_name


urlpatterns = patterns(get_app())
