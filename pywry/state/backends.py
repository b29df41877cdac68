"""Builds the configured shared backend (None for memory, which is the engine itself)."""

from __future__ import annotations

from ..config import PyWrySettings, StateBackend
from ..extras import MissingExtra
from .base import Backend


def create_backend(settings: PyWrySettings, worker_id: str) -> Backend | None:
    """The backend named by `PYWRY_DEPLOY__STATE_BACKEND`; imports its client library lazily."""
    kind = StateBackend(settings.deploy.state_backend)
    if kind == StateBackend.MEMORY:
        return None
    if kind == StateBackend.SQLITE:
        from .sqlite import SqliteBackend  # noqa: PLC0415

        return SqliteBackend(settings, worker_id)
    try:
        from .redis import RedisBackend  # noqa: PLC0415
    except ImportError:
        raise MissingExtra("PYWRY_DEPLOY__STATE_BACKEND=redis", "redis") from None
    return RedisBackend(settings, worker_id)
