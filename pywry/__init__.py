"""pywry: interactive HTML widgets served to browsers, with two-way events to Python callbacks."""

from __future__ import annotations

from typing import Any

from .core.app import App
from .core.events import Event, current_event
from .core.navigation import go_app

__version__ = "0.1.0"
__all__ = [
    "App",
    "Event",
    "PyWry",
    "WindowMode",
    "__version__",
    "current_event",
    "go_app",
    "path_deploy",
    "path_deploy_http",
]


def __getattr__(name: str) -> Any:
    # Browser mode and directory deploy pull in uvicorn; load them only when asked for.
    if name in ("PyWry", "WindowMode"):
        from . import app  # noqa: PLC0415

        return getattr(app, name)
    if name in ("path_deploy", "path_deploy_http"):
        from . import directory  # noqa: PLC0415

        return getattr(directory, name)
    raise AttributeError(f"module 'pywry' has no attribute {name!r}")
