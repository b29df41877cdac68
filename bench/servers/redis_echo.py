"""The raw cross-worker baseline's worker B: every message on `{prefix}:req` is published
unchanged on `{prefix}:ans` (redis-py asyncio), so A -> Redis -> B -> Redis -> A is two hops.

    python -m bench.servers.redis_echo REDIS_URL PREFIX
"""

from __future__ import annotations

import asyncio
import sys


async def main(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis  # noqa: PLC0415

    r = aioredis.from_url(url)
    pubsub = r.pubsub()
    await pubsub.subscribe(f"{prefix}:req")
    await r.set(f"{prefix}:ready", "1")
    answer = f"{prefix}:ans"
    async for message in pubsub.listen():
        if message["type"] == "message":
            await r.publish(answer, message["data"])


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main(sys.argv[1], sys.argv[2]))
    except ImportError:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
