"""A tiny Redis client on `hiredis` for the cross-worker baseline: RESP written by hand, replies
parsed by `hiredis.Reader`, one bare `asyncio.Protocol` per connection.

It does only what the two-hop pub/sub baseline needs (PUBLISH, SUBSCRIBE, SET, GET) and keeps no
pool, no retries and no per-message task, so it shows how fast the raw hops can be from Python:
the lower bound that redis-py's asyncio client (the other baseline) adds its own costs to.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

import hiredis


def command(*args: bytes | str) -> bytes:
    """One command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RespConnection(asyncio.Protocol):
    """One connection: replies complete the futures of `call` in order; pushed pub/sub messages
    go to `on_message(channel, data)`; replies of `send` are read and dropped (errors counted).
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader()
        self.pending: deque[asyncio.Future[object] | None] = deque()
        self.on_message: Callable[[bytes, bytes], None] | None = None
        self.errors = 0
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        while self.pending:
            fut = self.pending.popleft()
            if fut is not None and not fut.done():
                fut.set_exception(exc or ConnectionError("redis connection closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:  # noqa: D102
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            if (
                self.on_message is not None
                and isinstance(reply, list)
                and len(reply) == 3
                and reply[0] == b"message"
            ):
                self.on_message(reply[1], reply[2])
                continue
            fut = self.pending.popleft() if self.pending else None
            if isinstance(reply, hiredis.ReplyError):
                if fut is None:
                    self.errors += 1
                elif not fut.done():
                    fut.set_exception(reply)
            elif fut is not None and not fut.done():
                fut.set_result(reply)

    def send(self, *args: bytes | str) -> None:
        """Write a command without waiting for its reply (which is dropped when it comes)."""
        assert self.transport is not None
        self.pending.append(None)
        self.transport.write(command(*args))

    def call(self, *args: bytes | str) -> asyncio.Future[object]:
        """Write a command; the future gets its reply."""
        assert self.transport is not None
        fut = asyncio.get_running_loop().create_future()
        self.pending.append(fut)
        self.transport.write(command(*args))
        return fut

    def close(self) -> None:
        """Close the socket (no QUIT: the baseline does not need one)."""
        if self.transport is not None:
            self.transport.close()


async def open_connection(url: str, timeout: float = 5.0) -> RespConnection:
    """Connect to the server of a `redis://host:port[/db]` URL (pub/sub ignores the db)."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, proto = await asyncio.wait_for(
        loop.create_connection(RespConnection, parts.hostname or "127.0.0.1", parts.port or 6379),
        timeout,
    )
    return proto
