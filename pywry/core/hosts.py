"""Host-header checks for every mode and adapter: the defence against DNS rebinding.

A web page on `evil.example` can make its own name resolve to 127.0.0.1 and then talk to a server
on the user's machine as if it were same-origin. The browser still sends `Host: evil.example`, so
a server that answers only to its own names cannot be reached that way. This module decides which
names those are (`PYWRY_SERVER__ALLOWED_HOSTS`); it knows nothing of any web framework.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterable

__all__ = [
    "LOOPBACK_NAMES",
    "WILDCARD_HOSTS",
    "HostPolicy",
    "check_host_patterns",
    "is_loopback",
    "split_host",
]

#: Bind addresses that mean "every interface".
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
#: Names every server answers to (as it does to IP addresses): a rebinding page cannot make a
#: browser send them.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_BAD_CHARS = frozenset("/\\@?#")


def split_host(value: str) -> tuple[str, int | None] | None:
    """Split a Host header into (lower-case name, port or None); None when malformed."""
    value = value.strip()
    if not value or any(ch.isspace() or ch in _BAD_CHARS for ch in value):
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


def is_loopback(address: str) -> bool:
    """True for `localhost` and loopback IP addresses (`127.0.0.1`, `::1`, `[::1]`)."""
    bare = address.strip().lower()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def check_host_patterns(entries: Iterable[object]) -> list[str]:
    """Allowed-host patterns, lower-cased; ValueError naming the first that is not one."""
    checked = []
    for entry in entries:
        text = entry.strip().lower() if isinstance(entry, str) else ""
        if not text or any(ch.isspace() or ch in _BAD_CHARS for ch in text):
            raise ValueError(
                f"allowed host {entry!r} must be a host name or pattern such as "
                "dash.example.com, *.example.com or localhost:9000"
            )
        checked.append(text)
    return checked


def _matcher(pattern: str) -> str:
    """A pattern for `fnmatchcase`: `*` and `?` are wildcards, brackets are literal."""
    if pattern.startswith("[") and pattern.endswith("]"):
        pattern = pattern[1:-1]  # "[::1]" names the address ::1
    return pattern.replace("[", "[[]")


class HostPolicy:
    """Which `Host` headers a server answers to.

    Always the loopback names and IP addresses (probes and health checks use the server's
    address; rebinding needs a name the attacker resolves); also each allowed pattern (shell
    wildcards: `dash.example.com`, `*.example.com`, `localhost:9000` for that port only, `*`
    for any). A server bound to anything but a loopback address, with no patterns, answers to
    every host: nothing tells pywry its public names, so it warns at start instead.
    """

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self._patterns = [_matcher(p) for p in check_host_patterns(allowed)]

    def open_on(self, bind: str) -> bool:
        """True when a server bound to `bind` answers to every host (and should say so)."""
        return not self._patterns and not is_loopback(bind)

    def allows(self, host_header: str | None, bind: str) -> bool:
        """True when a request carrying this `Host` header, received by a server bound to
        `bind`, is meant for this server."""
        if self.open_on(bind):
            return True
        parsed = split_host(host_header or "")
        if parsed is None:
            return False
        name, port = parsed
        if name in LOOPBACK_NAMES or _is_ip(name):
            return True  # rebinding needs a name the attacker resolves: an address is safe
        forms = [name]
        if port is not None:
            forms.append(f"[{name}]:{port}" if ":" in name else f"{name}:{port}")
        return any(fnmatch.fnmatchcase(form, p) for p in self._patterns for form in forms)

    @staticmethod
    def refusal(host_header: str | None) -> str:
        """The plain-text answer to a refused request (names what was refused)."""
        if not host_header:
            return "Bad request: the request has no Host header.\n"
        return (
            f"Bad request: Host {host_header[:100]!r} is not a name of this server, so pywry "
            "refused the request (a guard against DNS rebinding). If the server is reached by "
            "that name, add it to PYWRY_SERVER__ALLOWED_HOSTS (for example dash.example.com or "
            "*.example.com).\n"
        )

    @staticmethod
    def warning(bind: str) -> str:
        """The start-up warning of a server that answers to every host."""
        where = f"binds {bind!r}" if bind.strip() else "binds every interface"
        return (
            f"pywry {where} and PYWRY_SERVER__ALLOWED_HOSTS is empty, so it answers to every "
            "Host header, which leaves it open to DNS rebinding; set PYWRY_SERVER__ALLOWED_HOSTS "
            "to the names it is reached by (for example dash.example.com,*.example.com)"
        )
