"""Builds the configured shared backend (None for memory, which is the engine itself)."""

from __future__ import annotations

import asyncio
import os

from ..config import PyWrySettings, StateBackend
from ..extras import MissingExtra
from .base import Backend, JsonObject

#: Set (to the deployment's pid) in the worker processes of a deployment whose start-up opened
#: the backend: a worker started later, by a supervisor replacing one that died, must not fail
#: its own start-up during an outage, because uvicorn and gunicorn then stop every worker.
CHECKED_ENV = "PYWRY_BACKEND_CHECKED"


def checked_at_start() -> bool:
    """This process is a worker of a deployment that opened the backend before it started."""
    return bool(os.environ.get(CHECKED_ENV))


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


def check_backend(settings: PyWrySettings) -> None:
    """Open the configured shared backend once and close it (blocking; no loop may run here).

    Raises `BackendStartError`, one line naming the setting, when it cannot be opened. `deploy()`
    calls it before any worker starts, so a bad path or an absent Redis stops the command at once.
    """
    backend = create_backend(settings, f"check-{os.getpid()}")
    if backend is not None:
        asyncio.run(_open_once(backend))


async def _open_once(backend: Backend) -> None:
    try:
        await backend.start(_ignore_message, _ignore_routed, _ignore_widget)
    except OSError as exc:  # BackendUnavailable, or a file the backend cannot make
        raise backend.open_error(exc) from None
    finally:
        await backend.stop()


def _ignore_message(key: str, seq: int, text: str) -> None:
    """A check has no pages to deliver to."""


async def _ignore_routed(payload: JsonObject) -> None:
    """A check handles no events."""


def _ignore_widget(label: str, change: str, worker: str) -> None:
    """A check holds no widgets."""
