"""Where the pywry URLconf is included, as Django's URL resolver says, and Django's requests."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, get_urlconf, reverse

from ...core.app import App
from ...core.context import Probe, RequestInfo
from ...core.http import base_from


def mount_base(app: App, request: HttpRequest | None = None) -> str | None:
    """The base path of pywry's routes (script prefix + include prefix [+ proxy prefix])."""
    try:
        root = reverse("pywry:serve", kwargs={"rest": ""})
    except NoReverseMatch:
        return None
    headers = {} if request is None else {k.lower(): v for k, v in request.headers.items()}
    return base_from(root, headers, app.settings.server.trust_forwarded_prefix)


def probe_for(app: App) -> Probe:
    """A request probe: Django sets a URLconf for the thread (or task) of every request."""

    def probe() -> RequestInfo | None:
        if get_urlconf() is None:
            return None
        return RequestInfo(mount_base(app), False)

    return probe
