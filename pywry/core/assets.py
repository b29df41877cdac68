"""The files served under `{base}/pywry-static/`, with ETags, by every adapter.

pywry's own files (`pywry/static/`: bridge, CSS, toolbar, grid and chart glue) are always there;
a widget kind adds its own (`Assets.use`, see `pywry.core.kinds`). A name from the browser is
only ever a key of that whitelist, never a path.
"""

from __future__ import annotations

import hashlib
import html
import logging
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .kinds import check_asset_name, find_asset, registered_kinds

if TYPE_CHECKING:
    from .kinds import WidgetKind

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
CACHE_CONTROL = "public, max-age=86400"
#: Stands for `{base}/pywry-static` in a widget's head; replaced when its page is rendered.
STATIC_PLACEHOLDER = "%PYWRY_STATIC%"

#: Returns an asset's file or contents, or None when it is unavailable; called once, lazily.
AssetLoader = Callable[[], "Path | bytes | None"]

log = logging.getLogger("pywry")


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


def _load(name: str, loader: AssetLoader) -> Asset | None:
    found = loader()
    if found is None:
        return None
    if isinstance(found, Path):
        try:
            body = found.read_bytes()
        except OSError as exc:
            log.warning("cannot read pywry asset %r from %s: %s", name, found, exc)
            return None
    elif isinstance(found, bytes):
        body = found
    else:
        raise TypeError(f"the loader of asset {name!r} returned {found!r}, not a Path or bytes")
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    return Asset(body, _content_type(name), etag)


class Assets:
    """pywry's own files plus those of the widget kinds in use."""

    def __init__(self, static_dir: Path = STATIC_DIR) -> None:
        self._builtin: dict[str, Path] = {}
        self._added: dict[str, AssetLoader] = {}
        self._cache: dict[str, Asset | None] = {}
        self._lock = threading.Lock()
        for path in static_dir.iterdir() if static_dir.is_dir() else ():
            if path.is_file() and not path.name.startswith("."):
                self._builtin[path.name] = path

    def add(self, name: str, loader: AssetLoader) -> None:
        """Serve `loader`'s file as `name` (again with the same loader: nothing changes).

        A different loader for a name replaces the earlier one; pywry's own files cannot be
        replaced.
        """
        check_asset_name(name)
        if not callable(loader):
            raise TypeError(f"the loader of asset {name!r} is not callable: {loader!r}")
        if name in self._builtin:
            raise ValueError(f"{name!r} is one of pywry's own static files")
        with self._lock:
            if self._added.get(name) is not loader:
                self._added[name] = loader
                self._cache.pop(name, None)

    def use(self, kind: WidgetKind[Any]) -> None:
        """Serve every asset of `kind` (called when a widget of that kind is shown)."""
        for name, loader in kind.assets.items():
            self.add(name, loader)

    def names(self) -> list[str]:
        """Every servable file name (those of registered kinds included)."""
        names = set(self._builtin) | set(self._added)
        for kind in registered_kinds():
            names.update(kind.assets)
        return sorted(names)

    def _loader(self, name: str) -> AssetLoader | None:
        path = self._builtin.get(name)
        if path is not None:
            return lambda: path
        return self._added.get(name) or find_asset(name)

    def get(self, name: str) -> Asset | None:
        """The file called `name`, or None when there is no such asset (or it is unavailable)."""
        if name in self._cache:
            return self._cache[name]
        loader = self._loader(name)
        if loader is None:
            return None
        asset = _load(name, loader)
        with self._lock:
            self._cache[name] = asset
        return asset

    def version(self, name: str) -> str:
        """A short content hash for cache-busting URLs (`?v=`)."""
        asset = self.get(name)
        return asset.etag.strip('"')[:10] if asset else "0"

    def tag(self, name: str, static: str = STATIC_PLACEHOLDER) -> str:
        """The `<script>` (`.js`) or stylesheet `<link>` (`.css`) loading `name`, versioned."""
        url = html.escape(f"{static}/{name}?v={self.version(name)}", quote=True)
        if name.endswith(".css"):
            return f'<link rel="stylesheet" href="{url}">'
        if name.endswith(".js"):
            return f'<script src="{url}"></script>'
        raise ValueError(f"no tag loads {name!r}: only .js and .css assets go in <head>")
