"""Sessions: one per browser (an HttpOnly cookie), each a mapping of JSON values.

The cookie (`AUTH_SESSION_COOKIE`, default `pywry_session`, path = the base path, SameSite=Lax,
Secure over HTTPS) is set when a page, stream or post finds none. A callback reads and writes
`current_event().session`; what it changed is stored when it returns, in the app's store: in
memory, or the shared backend (sqlite, redis) so that the next callback on any worker sees it.
Values expire `SESSION_TTL` seconds after their last write.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

from .protocol import encode, json_problem

SESSION_ID = re.compile(r"^[A-Za-z0-9_\-]{22,64}$")
MAX_SESSION_BYTES = 64 * 1024


class SessionError(ValueError):
    """A value a session cannot keep: not JSON, or the session would grow too large."""


def new_session_id() -> str:
    """An unguessable session id (192 bits)."""
    return secrets.token_urlsafe(24)


COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_\-.]{22,160}$")


def cookie_from_header(header: str | None, name: str) -> str | None:
    """The value of cookie `name` in a `Cookie` header, if it looks like a session cookie."""
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and COOKIE_VALUE.match(value):
            return value
    return None


def cookie_header(name: str, sid: str, path: str, *, secure: bool, ttl: int) -> str:
    """The `Set-Cookie` value for a session."""
    flags = f"{name}={sid}; Path={path or '/'}; Max-Age={ttl}; HttpOnly; SameSite=Lax"
    return flags + "; Secure" if secure else flags


class Session(MutableMapping[str, Any]):
    """One browser's values, as a callback sees them (JSON values only)."""

    def __init__(self, sid: str, data: dict[str, Any] | None = None) -> None:
        self.id = sid
        self._data: dict[str, Any] = dict(data or {})
        self.changed = False

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise SessionError(f"session keys are strings, not {key!r}")
        problem = json_problem(value)
        if problem is not None:
            raise SessionError(f"session value for {key!r} is not JSON: {problem}")
        self._data[key] = value
        if len(encode(self._data)) > MAX_SESSION_BYTES:
            del self._data[key]
            raise SessionError(
                f"session value for {key!r} would make the session larger than "
                f"{MAX_SESSION_BYTES} bytes; keep large data elsewhere and store its key here"
            )
        self.changed = True

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self.changed = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Session {len(self._data)} keys>"

    def dump(self) -> str:
        """The session as stored."""
        return encode(self._data)


class MemorySessions:
    """Sessions of a one-process app: `sid -> (json text, expiry)`."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, sid: str) -> str | None:
        """The stored text of session `sid`, or None."""
        found = self._items.get(sid)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    async def save(self, sid: str, text: str, ttl: float | None = None) -> None:
        """Store session `sid` for another `ttl` seconds (default: the sessions' TTL)."""
        with self._lock:
            self._items[sid] = (text, time.monotonic() + (self.ttl if ttl is None else ttl))

    def expire(self) -> None:
        """Forget expired sessions."""
        now = time.monotonic()
        with self._lock:
            for sid in [s for s, (_, exp) in self._items.items() if exp < now]:
                del self._items[sid]
