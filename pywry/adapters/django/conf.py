"""`settings.PYWRY`: pywry settings sections and adapter options for the Django adapter.

    PYWRY = {
        "server": {"reconnect_timeout": 10},            # like PYWRY_SERVER__* (beats them)
        "deploy": {"state_backend": "redis"},           # like PYWRY_DEPLOY__*
        "allowed_origins": ["https://*.example.com"],   # adapter options, as for every adapter
        "static_dir": BASE_DIR / "assets",
        "apps": "myproject.pages.APPS",                 # a dict/list, or its dotted path
        "check_origin": "myproject.security.origin_ok",  # a callable, or its dotted path
        "allowed_hosts": ["dash.example.com"],          # default: Django's ALLOWED_HOSTS
    }

Without `PYWRY`, settings come from the environment and config file as everywhere else. The
Django adapter serves the default app, configured from `PYWRY` once per process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ...config import ConfigError, PyWrySettings
from ...core import app as app_module
from ...core.app import App
from ...core.hosts import HostPolicy
from ...core.identity import end_host_session
from ...core.options import OPTION_NAMES
from ...core.origins import OriginPolicy

__all__ = ["get_app", "settings_options"]

log = logging.getLogger("pywry.django")
SECTIONS = ("server", "deploy")
_lock = threading.Lock()


def _raw() -> dict[str, Any]:
    raw = getattr(settings, "PYWRY", None)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"settings.PYWRY must be a dict, not {type(raw).__name__}")
    for key in raw:
        if key not in SECTIONS and key not in OPTION_NAMES:
            raise ImproperlyConfigured(
                f"settings.PYWRY[{key!r}]: unknown key; use "
                f"{', '.join(repr(k) for k in SECTIONS + OPTION_NAMES)}"
            )
    return raw


def _with_sections(raw: dict[str, Any]) -> App:
    """The default app, built (or re-set) with the PYWRY sections when they are given."""
    if not any(raw.get(s) for s in SECTIONS):
        return app_module.default_app()
    try:
        loaded = PyWrySettings(server=raw.get("server"), deploy=raw.get("deploy"))
    except (ConfigError, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"settings.PYWRY: {exc}") from None
    current = app_module.current_default()
    if current is None:
        created = App(loaded)
        app_module.set_default_app(created)
        return created
    # Widgets were registered before Django read PYWRY: keep them, take the new settings.
    if loaded.deploy.state_backend != current.settings.deploy.state_backend:
        log.warning(
            "settings.PYWRY deploy.state_backend comes too late: widgets were registered "
            "first; add 'pywry.adapters.django' to INSTALLED_APPS so it is read at start-up"
        )
    current.settings = loaded
    current.origins = OriginPolicy(loaded.server.websocket_allowed_origins, current.origins.check)
    current.hosts = HostPolicy(loaded.server.allowed_hosts)
    current.dispatcher.debug = loaded.server.debug
    return current


def _resolve(key: str, value: Any) -> Any:
    if key in ("apps", "check_origin") and isinstance(value, str):
        try:
            return import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(f"settings.PYWRY[{key!r}]: {exc}") from None
    return value


def settings_options() -> dict[str, Any]:
    """The adapter options given in `settings.PYWRY`."""
    return {k: _resolve(k, v) for k, v in _raw().items() if k in OPTION_NAMES}


def get_app(**options: Any) -> App:
    """The app Django serves: `settings.PYWRY` applied once per app, then `options` over it.

    Asked again (the ASGI wrapper asks on every request) it returns that app as it is, so the
    options given to `build(...)` stay in force.
    """
    with _lock:
        served = app_module.current_default()
        if served is None or "django" not in served.extensions:
            served = _with_sections(_raw())
            given = settings_options()
            if "allowed_hosts" not in given and not served.settings.server.allowed_hosts:
                given["allowed_hosts"] = django_hosts()
            _configure(served, given)
            _follow_logouts()
            served.extensions["django"] = True
    if options:
        _configure(served, options)
    return served


def django_hosts() -> list[str]:
    """Django's `ALLOWED_HOSTS` as pywry's host patterns, so one list serves both.

    `.example.com` is the domain and its subdomains; with `DEBUG` and no list, Django's own
    defaults (the loopback names).
    """
    allowed = [str(entry) for entry in settings.ALLOWED_HOSTS]
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    patterns: list[str] = []
    for entry in allowed:
        patterns += [entry[1:], "*" + entry] if entry.startswith(".") else [entry]
    return patterns


def _follow_logouts() -> None:
    """End the browser's pywry session when Django logs its user out (WSGI and ASGI)."""
    if "django.contrib.auth" not in settings.INSTALLED_APPS:
        return
    from django.contrib.auth.signals import user_logged_out  # noqa: PLC0415 - needs the apps

    user_logged_out.connect(_logged_out, dispatch_uid="pywry-logged-out")


def _logged_out(sender: Any, request: Any = None, **_: Any) -> None:
    if request is not None:
        key = getattr(getattr(request, "session", None), "session_key", None) or ""
        end_host_session(app_module.default_app(), request.headers.get("cookie"), key)


def _configure(served: App, options: dict[str, Any]) -> None:
    try:
        served.configure(**options)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"settings.PYWRY: {exc}") from None
