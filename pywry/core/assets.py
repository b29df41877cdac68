"""pywry's own static files (bridge, CSS, plotly.js) with ETags, served by every adapter."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
CACHE_CONTROL = "public, max-age=86400"


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file in memory."""

    body: bytes
    content_type: str
    etag: str


def _content_type(name: str) -> str:
    if name.endswith(".js"):
        return "text/javascript; charset=utf-8"
    if name.endswith(".css"):
        return "text/css; charset=utf-8"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _plotly_js() -> Path | None:
    try:
        import plotly  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


class Assets:
    """Whitelisted files only: a name from the browser is a dict key, never a path."""

    def __init__(self) -> None:
        self._files: dict[str, Path] = {}
        self._cache: dict[str, Asset] = {}
        self._lock = threading.Lock()
        for path in STATIC_DIR.iterdir() if STATIC_DIR.is_dir() else ():
            if path.is_file() and not path.name.startswith("."):
                self._files[path.name] = path
        plotly_js = _plotly_js()
        if plotly_js is not None:
            self._files["plotly.min.js"] = plotly_js

    def names(self) -> list[str]:
        """Every servable file name."""
        return sorted(self._files)

    def get(self, name: str) -> Asset | None:
        """The file called `name`, or None when there is no such pywry asset."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        path = self._files.get(name)
        if path is None:
            return None
        body = path.read_bytes()
        asset = Asset(body, _content_type(name), '"' + hashlib.sha1(body).hexdigest()[:20] + '"')
        with self._lock:
            self._cache[name] = asset
        return asset

    def version(self, name: str) -> str:
        """A short content hash for cache-busting URLs (`?v=`)."""
        asset = self.get(name)
        return asset.etag.strip('"')[:10] if asset else "0"
