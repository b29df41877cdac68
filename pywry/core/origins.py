"""Origin policy checked on every WebSocket handshake and event POST, for every adapter."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

OriginCheck = Callable[[str], bool]


class OriginPolicy:
    """Decides whether a browser origin may talk to a widget.

    With no patterns only the request's own host is accepted (CORS does not protect WebSockets,
    so this is the check that counts). Patterns are shell-style (`https://*.example.com`). A
    `check_origin` callable replaces the patterns entirely.
    """

    def __init__(self, allowed: Sequence[str] = (), check: OriginCheck | None = None) -> None:
        self.allowed = [p.strip().rstrip("/").lower() for p in allowed if p.strip()]
        self.check = check

    def allows(self, origin: str | None, host: str | None) -> bool:
        """True when `origin` (the Origin header) is acceptable for a request to `host`."""
        if origin is None:
            # Non-browser clients send no Origin; they carry no ambient credentials, and the
            # widget token still has to be presented.
            return True
        origin = origin.strip().rstrip("/").lower()
        if self.check is not None:
            try:
                return bool(self.check(origin))
            except Exception:  # noqa: BLE001 - a failing check refuses
                return False
        if origin == "null":
            return False
        if self.allowed:
            return any(fnmatch.fnmatchcase(origin, p) for p in self.allowed) or self._same_host(
                origin, host
            )
        return self._same_host(origin, host)

    @staticmethod
    def _same_host(origin: str, host: str | None) -> bool:
        return same_host(origin, host)


def same_host(origin: str | None, host: str | None) -> bool:
    """True when an Origin header names the host the request went to."""
    if not origin or not host:
        return False
    return urlsplit(origin.strip().lower()).netloc == host.strip().lower()
