"""Host-header checks for local servers: the defence against DNS rebinding.

A web page on `evil.example` can make its own name resolve to 127.0.0.1 and then talk to a server
on the user's machine as if it were same-origin. The browser still sends `Host: evil.example`, so
a server that answers only to its own names cannot be reached that way. This module decides which
names those are; it knows nothing of any web framework.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

__all__ = ["WILDCARD_HOSTS", "HostPolicy", "split_host"]

#: Bind addresses that mean "every interface".
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
#: Names every local server answers to.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """Split a Host header into (lower-case name, port or None); None when malformed."""
    value = value.strip()
    if not value or any(ch.isspace() or ch in "/\\@?#" for ch in value):
        return None
    port_text: str | None = None
    if value.startswith("["):  # [v6]:port
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:  # a bare IPv6 address is not a valid Host header
        return None
    else:
        name = value
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5 or int(port_text) > 65535:
            return None
        port = int(port_text)
    name = name.lower().rstrip(".")
    return (name, port) if name else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _bare(host: str) -> str:
    host = host.strip().lower()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


class HostPolicy:
    """Which `Host` headers a server bound to `bind_host` accepts.

    Always: `localhost`, `127.0.0.1` and `::1`. Also the bind host itself when it is a specific
    name or address. A server bound to every interface (`0.0.0.0`, `::`) also answers to any IP
    address literal (a rebinding attack needs a domain name, so IP literals are safe) and to this
    machine's host name. `extra` adds names: `"dash.example.com"` (with the server's port),
    `"localhost:9000"` (exactly that port, e.g. behind a port mapping) or `"*"` (accept every
    Host, for a trusted reverse proxy that rewrites it).

    The port in the header must be the server's port; a header without a port is accepted only
    when the server listens on the scheme's default port (80 for http, 443 for https). `port` may
    be set after construction (a server asked for port 0 learns its port once bound).
    """

    def __init__(
        self,
        bind_host: str,
        port: int = 0,
        *,
        scheme: str = "http",
        extra: Iterable[str] = (),
    ) -> None:
        self.bind_host = _bare(bind_host)
        self.port = port
        self.default_port = _DEFAULT_PORTS.get(scheme, 80)
        self.wildcard = bind_host.strip() in WILDCARD_HOSTS
        names = set(LOOPBACK_NAMES)
        if not self.wildcard:
            names.add(self.bind_host.rstrip("."))
        else:
            hostname = socket.gethostname().lower().rstrip(".")
            if hostname:
                names.add(hostname)
        self.any_host = False
        self.any_port_names: set[tuple[str, int]] = set()
        for entry in extra:
            if not isinstance(entry, str) or not entry.strip():
                raise ValueError(f"allowed host {entry!r} must be a non-empty host name")
            if entry.strip() == "*":
                self.any_host = True
                continue
            parsed = split_host(entry)
            if parsed is None:
                raise ValueError(
                    f"allowed host {entry!r} must be a host name, optionally with ':port'"
                )
            name, fixed = parsed
            if fixed is None:
                names.add(name)
            else:
                self.any_port_names.add((name, fixed))
        self.names = frozenset(names)

    def allows(self, host_header: str | None) -> bool:
        """True when a request carrying this `Host` header is meant for this server."""
        if self.any_host:
            return True
        if not host_header:
            return False
        parsed = split_host(host_header)
        if parsed is None:
            return False
        name, port = parsed
        effective = self.default_port if port is None else port
        if (name, effective) in self.any_port_names:
            return True
        if self.port and effective != self.port:
            return False
        if name in self.names:
            return True
        return self.wildcard and _is_ip(name)

    def describe(self, host_header: str | None) -> str:
        """The detail text of a refusal (names what was refused, not what would pass)."""
        if not host_header:
            return "the request has no Host header"
        return (
            f"Host {host_header[:100]!r} is not a name of this server; add it with "
            "PyWry(allowed_hosts=[...]) if it should be"
        )
