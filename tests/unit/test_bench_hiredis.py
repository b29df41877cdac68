"""The bench's hiredis baseline client against a private redis-server (no timings)."""

from __future__ import annotations

import asyncio

from bench.common import run_redis
from tests.support import run_async


def test_hiredis_client_commands_and_pubsub() -> None:
    """SET/GET replies come back in order, a published message reaches the subscription, and a
    PUBLISH whose reply is dropped still counts its subscriber."""
    from bench.hiredis_pubsub import command, open_connection  # noqa: PLC0415

    assert command("GET", b"k") == b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"

    async def main(url: str) -> None:
        pub = await open_connection(url)
        sub = await open_connection(url)
        got: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()
        sub.on_message = lambda channel, data: got.put_nowait((channel, data))
        try:
            assert await pub.call("SET", "k", "v") == b"OK"
            assert await pub.call("GET", "k") == b"v"
            assert (await sub.call("SUBSCRIBE", "chan"))[0] == b"subscribe"  # type: ignore[index]
            pub.send(b"PUBLISH", b"chan", b"x" * 3)
            assert await asyncio.wait_for(got.get(), 5) == (b"chan", b"xxx")
            assert await pub.call("PUBLISH", "chan", "y") == 1
            assert await asyncio.wait_for(got.get(), 5) == (b"chan", b"y")
            assert pub.errors == 0
        finally:
            pub.close()
            sub.close()

    with run_redis("test-hiredis") as url:  # make test installs redis-server
        run_async(main(url))  # a fresh loop in a thread: Playwright may hold this one
