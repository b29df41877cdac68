"""Static answers: pywry's own assets and the host's `static_dir`, both with ETags."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from .assets import CACHE_CONTROL, Assets
from .http import HttpResponse, error_response

_FORBIDDEN = ("\\", "\x00", ":")


def _answer(
    body: bytes, content_type: str, etag: str, cache: str, if_none_match: str | None
) -> HttpResponse:
    headers = {"ETag": etag, "Cache-Control": cache}
    if if_none_match and etag in if_none_match:
        return HttpResponse(304, b"", content_type, headers)
    return HttpResponse(200, body, content_type, headers)


def asset(assets: Assets, name: str, if_none_match: str | None) -> HttpResponse:
    """`GET {base}/pywry-static/{name}`."""
    found = assets.get(name)
    if found is None:
        return error_response(404, "not-found", "no such pywry asset")
    return _answer(found.body, found.content_type, found.etag, CACHE_CONTROL, if_none_match)


def host_file(root: Path | None, path: str, if_none_match: str | None) -> HttpResponse:
    """`GET {base}/static/{path}` from the host's folder; never outside it (no traversal)."""
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
    try:
        resolved = root.joinpath(*parts).resolve()
        resolved.relative_to(root)
    except (OSError, ValueError):
        return error_response(404, "not-found", "no such file")
    if not resolved.is_file():
        return error_response(404, "not-found", "no such file")
    stat = resolved.stat()
    etag = '"' + hashlib.sha1(f"{stat.st_mtime_ns}-{stat.st_size}".encode()).hexdigest()[:20] + '"'
    content_type = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/javascript":
        content_type += "; charset=utf-8"
    return _answer(resolved.read_bytes(), content_type, etag, "public, max-age=300", if_none_match)
