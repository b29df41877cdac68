"""The raw cross-worker baselines' worker B: every message on `{prefix}:req` is published
unchanged on `{prefix}:ans`, so A -> Redis -> B -> Redis -> A is two hops.

    python -m bench.servers.redis_echo REDIS_URL PREFIX [redis-py|hiredis]

`redis-py`: redis-py's asyncio client (pub/sub `listen()`, an awaited PUBLISH per message);
`hiredis`: `bench/hiredis_pubsub.py`, hand-written RESP parsed by `hiredis.Reader`, each answer
written from the subscription's `data_received` (PUBLISH replies read and dropped).
"""

from __future__ import annotations

import asyncio
import sys


async def main_redis_py(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis  # noqa: PLC0415

    r = aioredis.from_url(url)
    pubsub = r.pubsub()
    await pubsub.subscribe(f"{prefix}:req")
    await r.set(f"{prefix}:ready", "1")
    answer = f"{prefix}:ans"
    async for message in pubsub.listen():
        if message["type"] == "message":
            await r.publish(answer, message["data"])


async def main_hiredis(url: str, prefix: str) -> None:
    from bench.hiredis_pubsub import open_connection  # noqa: PLC0415

    sub = await open_connection(url)
    pub = await open_connection(url)
    answer = f"{prefix}:ans".encode()
    sub.on_message = lambda _channel, data: pub.send(b"PUBLISH", answer, data)
    await sub.call("SUBSCRIBE", f"{prefix}:req")
    await pub.call("SET", f"{prefix}:ready", "1")
    await asyncio.wait([sub.closed, pub.closed], return_when=asyncio.FIRST_COMPLETED)


def main(url: str, prefix: str, client: str = "redis-py") -> None:  # noqa: D103
    coro = main_hiredis(url, prefix) if client == "hiredis" else main_redis_py(url, prefix)
    try:
        import uvloop  # noqa: PLC0415

        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)


if __name__ == "__main__":
    main(*sys.argv[1:4])
