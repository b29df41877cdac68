"""Per-adapter configuration: the options every adapter accepts, validated and applied in one place.

`configure(**options)` turns the keyword arguments of `asgi_app()`, `blueprint()`,
`aiohttp_app()` and the Django URLconf into an `AdapterConfig`. Adapters only pass the kwargs
through and hand the config to the core functions; no adapter decides anything itself.

Option meanings follow pywebio's `start_server` (seed 004):

- `allowed_origins` (list of shell-style patterns) and `check_origin` (callable receiving the
  Origin, returning bool; replaces the patterns): checked on every socket, stream and post of
  this adapter. Unset, the engine's `PYWRY_SERVER__WEBSOCKET_ALLOWED_ORIGINS` applies.
- `reconnect_timeout`, `max_payload_size` (500, "40K", "3M"), `session_expire_seconds`, `cdn`
  (True: Plotly from its CDN, False: served locally, str: that URL): process-wide settings of the
  engine; the last adapter that sets one wins (a conflicting value is logged).
- `static_dir`: a folder of the host's own files served under `{base}/static/`.
- `apps`: page factories (see `pywry.core.apps`).
"""

from __future__ import annotations

import hashlib
import html as html_lib
import logging
import mimetypes
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import parse_size
from . import protocol as p
from .app import App, default_app
from .http import CLIENT_ID, HttpResponse, SocketAdmission, _int, error_response
from .origins import OriginCheck, OriginPolicy
from .tokens import new_label, token_from_subprotocols, tokens_equal
from .widgets import Widget, check_label

__all__ = ["AdapterConfig", "configure", "embed_html"]

log = logging.getLogger("pywry.adapter")

ENGINE_OPTIONS = ("reconnect_timeout", "max_payload_size", "session_expire_seconds", "cdn")
CLOSE_TRY_LATER = 1013
_applied: weakref.WeakKeyDictionary[App, dict[str, Any]] = weakref.WeakKeyDictionary()
_applied_lock = threading.Lock()


@dataclass(eq=False)
class AdapterConfig:
    """What one adapter instance serves with: the shared engine plus its own policy."""

    engine: App
    origins: OriginPolicy
    static_dir: Path | None = None
    apps: Any = None  # pywry.core.apps.Applications | None

    @property
    def payload_limit(self) -> int:
        """The largest accepted event (bytes)."""
        return int(self.engine.settings.server.max_payload_size)

    def admit(
        self, label: str, token: str | None, origin: str | None, host: str | None
    ) -> tuple[Widget | None, int | None]:
        """`App.admit` with this adapter's origin policy (unknown widget first, then origin)."""
        engine = self.engine
        if self.origins is engine.origins:
            return engine.admit(label, token, origin, host)
        widget, code = engine.admit(label, token, None, host)
        if code == p.CLOSE_UNKNOWN_WIDGET:
            return None, code
        if not self.origins.allows(origin, host):
            log.warning("refused origin %r for widget %r", origin, label)
            return None, p.CLOSE_BAD_ORIGIN
        return widget, code

    def admit_socket(
        self,
        label: str,
        subprotocols: list[str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> SocketAdmission:
        """Decide a WebSocket handshake (as `http.admit_socket`, with this adapter's origins)."""
        token, echo = token_from_subprotocols(subprotocols)
        widget, code = self.admit(label, token, headers.get("origin"), headers.get("host"))
        if widget is None:
            return SocketAdmission(echo, close_code=code)
        client = query.get("client") or ""
        if not CLIENT_ID.match(client):
            client = new_label()
        return SocketAdmission(
            echo, widget, None, client, _int(query.get("after"), widget.outbox.seq)
        )

    async def admit_socket_async(
        self,
        label: str,
        subprotocols: list[str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> SocketAdmission:
        """`admit_socket` after making the widget servable here (shared backends)."""
        if self.origins is self.engine.origins:
            from .http import admit_socket_async  # noqa: PLC0415

            return await admit_socket_async(self.engine, label, subprotocols, query, headers)
        from .stream import prepare_async  # noqa: PLC0415 - stream imports this module

        if await prepare_async(self.engine, label) is not None:
            return SocketAdmission(
                token_from_subprotocols(subprotocols)[1], close_code=CLOSE_TRY_LATER
            )
        return self.admit_socket(label, subprotocols, query, headers)

    def check_token(self, label: str, token: str | None) -> bool:
        """True when `token` is the widget's token."""
        widget = self.engine.get(label)
        return widget is not None and tokens_equal(widget.token, token)


def _check_origins(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(
            f"allowed_origins must be a list of origins such as ['https://*.example.com'], "
            f"not {value!r}"
        )
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise TypeError(f"allowed_origins entry {item!r} must be a non-empty string")
    return list(value)


def _check_number(name: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'} (got {value!r})")
    return float(value)


def _cdn_url(value: Any) -> str | None:
    if value is None or value is False:
        return None
    if value is True:
        try:
            from plotly.offline import get_plotlyjs_version  # noqa: PLC0415
        except ImportError:
            raise ValueError("cdn=True needs plotly installed (or pass the URL to use)") from None
        return f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"
    if isinstance(value, str) and value.startswith(("https://", "http://", "//", "/")):
        return value
    raise ValueError(f"cdn must be True, False or a URL (got {value!r})")


def _engine_updates(options: Mapping[str, Any]) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if options.get("reconnect_timeout") is not None:
        updates["reconnect_timeout"] = _check_number(
            "reconnect_timeout", options["reconnect_timeout"], positive=False
        )
    if options.get("session_expire_seconds") is not None:
        updates["session_expire_seconds"] = _check_number(
            "session_expire_seconds", options["session_expire_seconds"], positive=True
        )
    if options.get("max_payload_size") is not None:
        try:
            updates["max_payload_size"] = parse_size(options["max_payload_size"])
        except ValueError as exc:
            raise ValueError(f"max_payload_size {exc}") from None
    if "cdn" in options and options["cdn"] is not None:
        updates["cdn"] = _cdn_url(options["cdn"])
    return updates


def apply_engine_options(engine: App, updates: Mapping[str, Any]) -> None:
    """Set process-wide server settings of `engine` (logged when another adapter set them)."""
    if not updates:
        return
    with _applied_lock:
        seen = _applied.setdefault(engine, {})
        for key, value in updates.items():
            if key in seen and seen[key] != value:
                log.warning(
                    "%s=%r replaces %r set by another adapter: it is a process-wide setting",
                    key,
                    value,
                    seen[key],
                )
            seen[key] = value
        server = engine.settings.server.model_copy(update=dict(updates))
        engine.settings = engine.settings.model_copy(update={"server": server})


def _check_static_dir(value: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, (str, Path)):
        raise TypeError(f"static_dir must be a folder path, not {value!r}")
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(f"static_dir {str(value)!r} is not an existing folder")
    return path


def configure(
    engine: App | None = None,
    *,
    apps: Any = None,
    allowed_origins: Sequence[str] | None = None,
    check_origin: OriginCheck | None = None,
    reconnect_timeout: float | None = None,
    max_payload_size: int | str | None = None,
    session_expire_seconds: float | None = None,
    cdn: bool | str | None = None,
    static_dir: str | Path | None = None,
) -> AdapterConfig:
    """Validate the adapter options, apply the process-wide ones, return the adapter's config."""
    eng = engine or default_app()
    if check_origin is not None and not callable(check_origin):
        raise TypeError(f"check_origin must be a callable taking the origin, not {check_origin!r}")
    if allowed_origins is None and check_origin is None:
        origins = eng.origins
    else:
        origins = OriginPolicy(
            _check_origins(allowed_origins) if allowed_origins is not None else (), check_origin
        )
    static = _check_static_dir(static_dir)
    applications = None
    if apps is not None:
        from .apps import Applications  # noqa: PLC0415 - apps imports this module

        applications = apps if isinstance(apps, Applications) else Applications(apps)
    apply_engine_options(
        eng,
        _engine_updates(
            {
                "reconnect_timeout": reconnect_timeout,
                "max_payload_size": max_payload_size,
                "session_expire_seconds": session_expire_seconds,
                "cdn": cdn,
            }
        ),
    )
    return AdapterConfig(eng, origins, static, applications)


_default_configs: weakref.WeakKeyDictionary[App, AdapterConfig] = weakref.WeakKeyDictionary()


def default_config(engine: App | None = None) -> AdapterConfig:
    """The option-less config of `engine` (for routes added without options)."""
    eng = engine or default_app()
    cfg = _default_configs.get(eng)
    if cfg is None or cfg.origins is not eng.origins:
        cfg = AdapterConfig(eng, eng.origins)
        _default_configs[eng] = cfg
    return cfg


# -- the host's static files ---------------------------------------------------------------------
_FORBIDDEN = ("\\", "\x00", ":")


def host_static(cfg: AdapterConfig, path: str, if_none_match: str | None) -> HttpResponse:
    """`GET {base}/static/{path}` from `static_dir`; never outside it (no traversal)."""
    root = cfg.static_dir
    if root is None:
        return error_response(404, "not-found", "no static_dir is configured")
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or any(ch in path for ch in _FORBIDDEN)
        or any(part in ("", ".", "..") for part in parts)
    ):
        return error_response(404, "not-found", "no such file")
    target = root.joinpath(*parts)
    try:
        resolved = target.resolve()
        resolved.relative_to(root)
    except (OSError, ValueError):
        return error_response(404, "not-found", "no such file")
    if not resolved.is_file():
        return error_response(404, "not-found", "no such file")
    stat = resolved.stat()
    etag = '"' + hashlib.sha1(f"{stat.st_mtime_ns}-{stat.st_size}".encode()).hexdigest()[:20] + '"'
    content_type = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript",):
        content_type += "; charset=utf-8"
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if if_none_match and etag in if_none_match:
        return HttpResponse(304, b"", content_type, headers)
    return HttpResponse(200, resolved.read_bytes(), content_type, headers)


# -- embedding -----------------------------------------------------------------------------------
def widget_path(engine: App, label: str, base: str | None = None) -> str:
    """The path of a widget's page under `base` (default: the engine's base path)."""
    prefix = engine.settings.server.widget_prefix
    return f"{engine.base_path(base)}{prefix}/{check_label(label)}"


def embed_html(
    widget: Any,
    base: str | None = None,
    *,
    engine: App | None = None,
    height: str = "480px",
    title: str | None = None,
) -> str:
    """An `<iframe>` showing a widget page, for a host application's own templates.

    `widget` is a handle from `show()` or a label. The iframe keeps the widget's page (bridge,
    CSS, scripts) separate from the host page; downloads and toasts work inside it.
    """
    eng = engine or default_app()
    label = widget if isinstance(widget, str) else getattr(widget, "label", None)
    if not isinstance(label, str):
        raise TypeError(f"expected a widget handle or label, not {widget!r}")
    if not isinstance(height, str) or any(ch in height for ch in "\"'<>;"):
        raise ValueError(f"height {height!r} must be a CSS length such as '480px' or '60vh'")
    record = eng.get(label)
    name = title or (record.title if record is not None else label)
    src = html_lib.escape(widget_path(eng, label, base), quote=True)
    return (
        f'<iframe class="pywry-widget" src="{src}" title="{html_lib.escape(name, quote=True)}" '
        f'data-pywry-label="{html_lib.escape(label, quote=True)}" '
        f'style="width:100%;height:{height};border:0;display:block" loading="eager"></iframe>'
    )
