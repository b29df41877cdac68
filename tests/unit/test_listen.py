"""Listening sockets (`pywry.core.listen`) against real sockets on loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from pywry.core.listen import ListenError, bind_near, port_problem


@contextmanager
def busy_ports(count: int) -> Iterator[int]:
    """`count` consecutive loopback ports held by listening sockets; the first of them."""
    for _ in range(20):
        with ExitStack() as stack:
            socks = [stack.enter_context(socket.socket()) for _ in range(count)]
            socks[0].bind(("127.0.0.1", 0))
            base = socks[0].getsockname()[1]
            try:
                for offset, sock in enumerate(socks[1:], start=1):
                    sock.bind(("127.0.0.1", base + offset))
            except OSError:
                continue  # one of them is someone else's: try elsewhere
            for sock in socks:
                sock.listen()
            yield base
            return
    raise AssertionError(f"found no {count} consecutive free ports")


def test_a_busy_port_moves_to_the_next_free_one() -> None:
    with busy_ports(2) as port:
        sock = bind_near("127.0.0.1", port, 16)
        with sock:
            assert sock.getsockname()[1] == port + 2


def test_when_every_port_tried_is_busy_the_error_names_the_setting() -> None:
    with busy_ports(3) as port, pytest.raises(ListenError) as exc:
        bind_near("127.0.0.1", port, 16, retries=2)
    assert exc.value.in_use
    assert str(exc.value) == (
        f"pywry cannot listen on 127.0.0.1:{port}: ports {port} to {port + 2} are all in use; "
        "choose another with PYWRY_SERVER__PORT (0 for any free port)"
    )


def test_an_address_of_another_machine_names_host_and_port() -> None:
    problem = port_problem("203.0.113.7", 8765, 16)  # TEST-NET-3: never one of ours
    assert problem is not None
    assert problem.startswith("pywry cannot listen on 203.0.113.7:8765: ")
    assert problem.endswith("; check PYWRY_SERVER__HOST and PYWRY_SERVER__PORT")


def test_a_free_port_has_no_problem() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert port_problem("127.0.0.1", port, 16) is None
