"""Where the pywry URLconf is included, as the browser sees it."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from ...core import http
from .conf import get_config


def mount_base(request: HttpRequest | None = None) -> str | None:
    """The base path of the pywry routes (script prefix + include prefix [+ proxy prefix])."""
    try:
        health = reverse("pywry:health")
    except NoReverseMatch:
        return None
    base = health[: -len("/health")]
    if request is None:
        return base
    headers = {k.lower(): v for k, v in request.headers.items()}
    trust = get_config().engine.settings.server.trust_forwarded_prefix
    return http.base_from(base, headers, trust)
