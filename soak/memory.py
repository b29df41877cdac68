"""Memory after many sockets come and go: one worker, `cycles` rounds of `sockets` sockets opened
together and closed, the worker's resident size read from /proc after each round.

`python -m soak.memory [sockets] [cycles]` prints the sizes in MiB; the worker's own count of
open connections must be back at 0 after each round (it holds nothing of a closed socket).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.support import run_async

from .harness import bootstrap, start_redis, start_workers, stop_all

TOKEN = "soak-internal-token"


def rss_mib(pid: int) -> float:
    """Resident set size of process `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _round(url: str, boot: dict, sockets: int) -> None:
    base = url.replace("http", "ws", 1) + boot["ws"]
    proto = [f"pywry.token.{boot['token']}"]

    async def one(i: int):
        return await connect(
            f"{base}?client=m{i:011d}&after=0", subprotocols=proto, open_timeout=30
        )  # type: ignore[arg-type]

    opened = []
    for start in range(0, sockets, 100):  # in batches: the listen backlog is finite
        opened += await asyncio.gather(*(one(i) for i in range(start, min(sockets, start + 100))))
    await asyncio.gather(*(ws.close() for ws in opened))


def measure(sockets: int = 1000, cycles: int = 10) -> list[float]:
    """RSS (MiB) before the first round and after each."""
    with tempfile.TemporaryDirectory(prefix="soak-memory-") as d:
        folder = Path(d)
        redis = start_redis(folder / "redis")
        (worker,) = start_workers(
            1, folder, redis.url, PYWRY_SERVER__INTERNAL_API_TOKEN=TOKEN,
            PYWRY_SERVER__MAX_CONNECTIONS_PER_WIDGET=str(sockets * 2),
        )  # fmt: skip
        try:
            boot = bootstrap(worker)
            sizes = [rss_mib(worker.proc.pid)]
            for _ in range(cycles):
                run_async(_round(worker.url, boot, sockets))
                left = -1
                for _ in range(100):  # the worker finishes closing them (bounded: 10 s)
                    left = httpx.get(
                        worker.url + "/health", headers={"X-PyWry-Internal-Token": TOKEN},
                        timeout=10,
                    ).json()["connections"]  # fmt: skip
                    if left == 0:
                        break
                    time.sleep(0.1)
                if left != 0:
                    raise AssertionError(f"the worker still counts {left} open connections")
                sizes.append(rss_mib(worker.proc.pid))
            return sizes
        finally:
            stop_all([worker])
            redis.stop()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    sizes = measure(*args)
    print("rss MiB: " + " ".join(f"{s:.0f}" for s in sizes))
