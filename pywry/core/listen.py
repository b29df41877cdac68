"""Listening sockets: bind a host and port, and say plainly why one cannot be used.

Browser mode binds its socket itself (so a busy port is known in `show()`, and the next free one
can be taken, as Jupyter does); deploy mode checks the port before uvicorn starts, so a busy one
ends the program with one line that says which setting to change.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket

#: How many ports after a busy one browser mode tries (Jupyter tries 50 too).
PORT_RETRIES = 50
PORT_VARIABLE = "PYWRY_SERVER__PORT"


class ListenError(OSError):
    """A host and port cannot be listened on; `in_use` when other sockets hold the port."""

    def __init__(self, host: str, port: int, reason: str, in_use: bool = False) -> None:
        super().__init__(
            errno.EADDRINUSE if in_use else None, f"pywry cannot listen on {host}:{port}: {reason}"
        )
        self.host, self.port, self.in_use = host, port, in_use

    def __str__(self) -> str:
        return str(self.strerror)

    @classmethod
    def from_os(cls, host: str, port: int, exc: OSError) -> ListenError:
        """The error for `exc`, raised binding host:port."""
        if exc.errno == errno.EADDRINUSE:
            return cls(host, port, "the port is in use", in_use=True)
        return cls(host, port, exc.strerror or str(exc))


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening, non-blocking socket on host:port (IPv4 first); `ListenError` if impossible."""
    bind_host = None if host.strip() in ("", "[::]") else host.strip("[]")
    try:
        infos = socket.getaddrinfo(
            bind_host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise ListenError.from_os(host, port, exc) from exc
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    last: OSError = OSError(errno.EADDRNOTAVAIL, "no address to bind")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if os.name == "posix":  # as uvicorn does: a port in TIME_WAIT is not "in use"
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and bind_host in (None, "::"):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise ListenError.from_os(host, port, last) from last


def bind_near(host: str, port: int, backlog: int, retries: int = PORT_RETRIES) -> socket.socket:
    """`bind`, or when the port is in use the first free one of the next `retries` ports.

    Port 0 (any free port) is bound as it is.
    """
    if port == 0:
        return bind(host, port, backlog)
    last = min(port + retries, 65535)
    for candidate in range(port, last + 1):
        try:
            return bind(host, candidate, backlog)
        except ListenError as exc:
            if not exc.in_use:
                raise
    raise ListenError(
        host,
        port,
        f"ports {port} to {last} are all in use; choose another with {PORT_VARIABLE} "
        "(0 for any free port)",
        in_use=True,
    )


def port_problem(host: str, port: int, backlog: int) -> str | None:
    """None when host:port can be listened on now, else one line saying what to change.

    For a busy port the line proposes a free one, e.g. ``PYWRY_SERVER__PORT=8081``.
    """
    try:
        bind(host, port, backlog).close()
    except ListenError as exc:
        if not exc.in_use:
            return f"{exc}; check PYWRY_SERVER__HOST and {PORT_VARIABLE}"
        example = ""
        with contextlib.suppress(ListenError):
            if 0 < port < 65535:
                free = bind_near(host, port + 1, backlog)
                example = f"{PORT_VARIABLE}={free.getsockname()[1]}, or "
                free.close()
        return f"{exc}; choose another port with {example}{PORT_VARIABLE}=0 for any free one"
    return None
