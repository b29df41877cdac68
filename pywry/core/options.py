"""The options every adapter accepts, validated once and applied to the app they serve.

`asgi_app()`, `blueprint()`, `aiohttp_app()`, the Django URLconf and browser mode take the same
keyword arguments; they are an app's settings, so they land on the `App` (two adapters that
want different values serve two apps):

- `allowed_origins` (shell-style patterns) and `check_origin` (a callable taking the Origin and
  returning a bool, replacing the patterns): checked on every socket, stream and post;
- `allowed_hosts` (shell-style patterns, replacing `PYWRY_SERVER__ALLOWED_HOSTS`): the `Host`
  names checked on every request and handshake (`pywry.core.hosts`);
- `reconnect_timeout`, `max_payload_size` (500, "40K", "3M"), `session_expire_seconds` and
  `cdn` (True, False or a URL; the widget kinds that load scripts interpret it);
- `static_dir`: a folder of the host's own files served under `{base}/static/`;
- `apps`: page factories (`pywry.core.apps`);
- `identify`: a callable taking the framework's request and returning a `pywry.auth.User` or
  None, asked when the host framework has no signed-in user of its own (access control).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import parse_size
from .hosts import check_host_patterns
from .origins import OriginCheck

OPTION_NAMES = (
    "allowed_origins",
    "allowed_hosts",
    "check_origin",
    "reconnect_timeout",
    "max_payload_size",
    "session_expire_seconds",
    "cdn",
    "static_dir",
    "apps",
    "identify",
)


def _origins(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(
            f"allowed_origins must be a list of origins such as ['https://*.example.com'], "
            f"not {value!r}"
        )
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise TypeError(f"allowed_origins entry {item!r} must be a non-empty string")
    return list(value)


def _hosts(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(
            f"allowed_hosts must be a list of host names such as ['dash.example.com'], "
            f"not {value!r}"
        )
    return check_host_patterns(value)


def _seconds(name: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'} (got {value!r})")
    return float(value)


def _cdn(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith(("https://", "http://", "//", "/")):
        return value
    raise ValueError(f"cdn must be True, False or a URL (got {value!r})")


def _static_dir(value: Any) -> Path:
    if not isinstance(value, (str, Path)):
        raise TypeError(f"static_dir must be a folder path, not {value!r}")
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(f"static_dir {str(value)!r} is not an existing folder")
    return path


def server_updates(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that are server settings, validated, as `ServerSettings` field updates."""
    updates: dict[str, Any] = {}
    if options.get("reconnect_timeout") is not None:
        updates["reconnect_timeout"] = _seconds(
            "reconnect_timeout", options["reconnect_timeout"], positive=False
        )
    if options.get("session_expire_seconds") is not None:
        updates["session_expire_seconds"] = _seconds(
            "session_expire_seconds", options["session_expire_seconds"], positive=True
        )
    if options.get("max_payload_size") is not None:
        try:
            updates["max_payload_size"] = parse_size(options["max_payload_size"])
        except ValueError as exc:
            raise ValueError(f"max_payload_size {exc}") from None
    if options.get("cdn") is not None:
        updates["cdn"] = _cdn(options["cdn"])
    return updates


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Validate adapter options; returns them with `static_dir` resolved and origins listed.

    An unknown name is an error that lists the known ones.
    """
    unknown = [name for name in options if name not in OPTION_NAMES]
    if unknown:
        raise TypeError(
            f"unknown option {unknown[0]!r}; pywry's adapters take {', '.join(OPTION_NAMES)}"
        )
    out = {name: value for name, value in options.items() if value is not None}
    check: OriginCheck | None = out.get("check_origin")
    if check is not None and not callable(check):
        raise TypeError(f"check_origin must be a callable taking the origin, not {check!r}")
    identify = out.get("identify")
    if identify is not None and not callable(identify):
        raise TypeError(f"identify must be a callable taking the request, not {identify!r}")
    if "allowed_origins" in out:
        out["allowed_origins"] = _origins(out["allowed_origins"])
    if "allowed_hosts" in out:
        out["allowed_hosts"] = _hosts(out["allowed_hosts"])
    if "static_dir" in out:
        out["static_dir"] = _static_dir(out["static_dir"])
    server_updates(out)  # validates the server settings among them
    return out
