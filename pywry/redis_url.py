"""What a `PYWRY_DEPLOY__REDIS_URL` names: one server, or a group watched by Redis Sentinel.

One server (or any node of a Redis Cluster) is a URL redis-py reads itself: `redis://`,
`rediss://` or `unix://`. A Sentinel group is

    redis+sentinel://[:password@]host:port[,host:port...]/service_name[/db]

the Sentinels to ask (at least one), the name they monitor the master under, and the database
(default 0). The password is the Redis servers'; the Sentinels are asked without one. Kept apart
from the backend so that the settings can check a URL without importing redis-py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

SENTINEL_SCHEME = "redis+sentinel://"
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[^\s:/,\[\]@]+):(\d{1,5})$")
_SERVICE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass(frozen=True)
class SentinelTarget:
    """A parsed `redis+sentinel://` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def is_sentinel_url(url: str) -> bool:
    """True for a `redis+sentinel://` URL."""
    return url.startswith(SENTINEL_SCHEME)


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The Sentinels, service name, database and password of a `redis+sentinel://` URL.

    Raises ValueError saying what is wrong (the message never contains the password).
    """
    if not is_sentinel_url(url):
        raise ValueError(f"must start with {SENTINEL_SCHEME}")
    rest = url[len(SENTINEL_SCHEME) :]
    if "?" in rest or "#" in rest:
        raise ValueError("takes no query or fragment (redis+sentinel://host:port/service[/db])")
    netloc, _, path = rest.partition("/")
    username = password = None
    if "@" in netloc:
        auth, _, netloc = netloc.rpartition("@")
        user, colon, secret = auth.partition(":")
        if not colon:
            raise ValueError("write the password as ':password@' before the first host")
        username, password = unquote(user) or None, unquote(secret) or None
    sentinels = []
    for item in netloc.split(","):
        match = _HOST_PORT.match(item.strip())
        if match is None or not 0 < int(match.group(2)) <= 65535:
            raise ValueError(f"needs host:port for every Sentinel (got {item.strip()!r})")
        sentinels.append((match.group(1).strip("[]"), int(match.group(2))))
    parts = path.split("/") if path else []
    if not parts or not _SERVICE.match(parts[0]):
        raise ValueError("needs the service name after the hosts (redis+sentinel://h:26379/name)")
    if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError("takes at most a database number after the service name (/name/0)")
    db = int(parts[1]) if len(parts) == 2 else 0
    return SentinelTarget(tuple(sentinels), parts[0], db, username, password)


def mask_password(url: str) -> str:
    """The URL with its password (if any) shown as `***`; safe to log."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    auth, _, hosts = netloc.rpartition("@")
    user, colon, _ = auth.partition(":")
    shown = f"{user}:***" if colon else auth
    return f"{scheme}://{shown}@{hosts}{slash}{path}"
