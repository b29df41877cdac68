"""`settings.PYWRY`: pywry settings sections and adapter options for the Django adapter.

    PYWRY = {
        "server": {"reconnect_timeout": 10},            # like PYWRY_SERVER__* (beats them)
        "deploy": {"state_backend": "redis"},           # like PYWRY_DEPLOY__*
        "allowed_origins": ["https://*.example.com"],   # adapter options, as for every adapter
        "static_dir": BASE_DIR / "assets",
        "apps": "myproject.pages.APPS",                 # a dict/list, or its dotted path
        "check_origin": "myproject.security.origin_ok",  # a callable, or its dotted path
    }

Without `PYWRY`, settings come from the environment and config file as everywhere else.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ...config import ConfigError, PyWrySettings
from ...core import app as engine_module
from ...core.adapter import AdapterConfig, configure
from ...core.app import App, default_app, set_default_app
from ...core.origins import OriginPolicy

__all__ = ["get_config", "settings_options"]

log = logging.getLogger("pywry.django")
SECTIONS = ("server", "deploy")
OPTIONS = (
    "allowed_origins",
    "check_origin",
    "reconnect_timeout",
    "max_payload_size",
    "session_expire_seconds",
    "cdn",
    "static_dir",
    "apps",
)
_config: AdapterConfig | None = None
_lock = threading.Lock()


def _raw() -> dict[str, Any]:
    raw = getattr(settings, "PYWRY", None)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"settings.PYWRY must be a dict, not {type(raw).__name__}")
    for key in raw:
        if key not in SECTIONS and key not in OPTIONS:
            raise ImproperlyConfigured(
                f"settings.PYWRY[{key!r}]: unknown key; use "
                f"{', '.join(repr(k) for k in SECTIONS + OPTIONS)}"
            )
    return raw


def _engine(raw: dict[str, Any]) -> App:
    """The process engine, built with the PYWRY sections when they are given."""
    if not any(raw.get(s) for s in SECTIONS):
        return default_app()
    try:
        loaded = PyWrySettings(server=raw.get("server"), deploy=raw.get("deploy"))
    except (ConfigError, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"settings.PYWRY: {exc}") from None
    current = engine_module.current_default()
    if current is None:
        engine = App(loaded)
        set_default_app(engine)
        return engine
    # Widgets were registered before Django read PYWRY: keep them, take the new settings.
    if loaded.deploy.state_backend != current.settings.deploy.state_backend:
        log.warning(
            "settings.PYWRY deploy.state_backend comes too late: widgets were registered "
            "first; add 'pywry.adapters.django' to INSTALLED_APPS so it is read at start-up"
        )
    current.settings = loaded
    current.origins = OriginPolicy(loaded.server.websocket_allowed_origins, current.origins.check)
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
    raw = _raw()
    return {k: _resolve(k, v) for k, v in raw.items() if k in OPTIONS}


def get_config() -> AdapterConfig:
    """The Django adapter's config from `settings.PYWRY` (built once per process)."""
    global _config
    if _config is not None:
        return _config
    with _lock:
        if _config is None:
            raw = _raw()
            engine = _engine(raw)
            try:
                _config = configure(engine, **settings_options())
            except (TypeError, ValueError) as exc:
                raise ImproperlyConfigured(f"settings.PYWRY: {exc}") from None
        return _config


def config_with(**options: Any) -> AdapterConfig:
    """A config for `urls.build(**options)`: PYWRY options overridden by `options`."""
    base = get_config()
    merged = {**settings_options(), **options}
    try:
        return configure(base.engine, **merged)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"pywry urls.build(): {exc}") from None
