"""Deploy-mode detection, worker identity and the configured state backend."""

from __future__ import annotations

import os
import secrets
import socket

from ..config import StateBackend

__all__ = ["StateBackend", "get_state_backend", "get_worker_id", "is_deploy_mode"]

_TRUE = {"1", "true", "yes", "on"}
_worker_id: str | None = None


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def headless() -> bool:
    """True when this process serves no person at a screen: ``PYWRY_HEADLESS`` is true, or
    ``get_server_app()`` made it deploy mode's server."""
    from ..core.app import serves_deployed  # noqa: PLC0415 - the core imports this module

    return _env_true("PYWRY_HEADLESS") or serves_deployed()


def is_deploy_mode() -> bool:
    """True when deploy mode is on.

    That is when ``PYWRY_DEPLOY_MODE`` or ``PYWRY_DEPLOY__ENABLED`` is true, when the state
    backend is ``redis`` (it only makes sense for several workers), or when the process is
    `headless` and a state backend is named at all.
    """
    backend = os.environ.get("PYWRY_DEPLOY__STATE_BACKEND", "").strip().lower()
    return (
        _env_true("PYWRY_DEPLOY_MODE")
        or _env_true("PYWRY_DEPLOY__ENABLED")
        or backend == "redis"
        or (bool(backend) and headless())
    )


def get_state_backend() -> StateBackend:
    """The configured state backend (`.value` is memory, sqlite or redis)."""
    from ..config import get_settings  # noqa: PLC0415

    return StateBackend(get_settings().deploy.state_backend)


def get_worker_id() -> str:
    """`PYWRY_DEPLOY__WORKER_ID`, or an id generated once per process."""
    global _worker_id
    configured = os.environ.get("PYWRY_DEPLOY__WORKER_ID", "").strip()
    if configured:
        return configured
    if _worker_id is None or not _worker_id.endswith(f"-{os.getpid()}"):
        _worker_id = f"{socket.gethostname()}-{secrets.token_hex(3)}-{os.getpid()}"
    return _worker_id
