"""The faults a soak injects, each a function of its size: (name, size) -> Counts."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support import run_async

from .harness import (
    Counts,
    SoakClient,
    StreamSoakClient,
    bootstrap,
    count,
    start_redis,
    start_workers,
    stop_all,
    traffic,
)


@dataclass(frozen=True)
class Size:
    """How big a run is: workers, clients, seconds of traffic, events and ticks a second."""

    workers: int = 4
    clients: int = 10
    seconds: float = 10.0
    events: float = 5.0  # per client per second
    ticks: float = 100.0  # per worker per second
    drops: int = 1000
    outage: float = 5.0


FULL = Size()
SHORT = Size(workers=2, clients=4, seconds=4.0, events=5.0, ticks=20.0, drops=40, outage=2.0)


def _run(
    size: Size, folder: Path, *, aof: bool = False, fault: Callable[..., object] | None = None,
    ticks: bool = True, stream: bool = False,
) -> Counts:  # fmt: skip
    redis = start_redis(folder / "redis", aof=aof)
    rate = size.ticks if ticks else 0.0
    workers = start_workers(
        size.workers, folder, redis.url, rate=rate, ticks=int(rate * (size.seconds + 2))
    )
    skip: set[str] = set()
    try:
        rng = random.Random(7)
        boot = bootstrap(workers[0])
        kind = StreamSoakClient if stream else SoakClient
        clients = [kind(workers, boot, rng) for _ in range(size.clients)]

        async def during() -> None:
            if fault is not None:
                await fault(size=size, clients=clients, workers=workers, redis=redis, skip=skip)

        run_async(traffic(clients, size.seconds, size.events, during))  # a loop may be running
        return count(workers, clients, skip=skip)
    finally:
        stop_all(workers)
        redis.stop()


async def _drops(size: Size, clients: list[SoakClient], **_: object) -> None:
    """`size.drops` abrupt drops spread over the run, at random clients."""
    rng = random.Random(11)
    for _ in range(size.drops):
        await asyncio.sleep(size.seconds * 0.9 / size.drops)
        rng.choice(clients).drop()


async def _kill(size: Size, workers: list, skip: set[str], **_: object) -> None:
    """SIGKILL one worker a third of the way in."""
    await asyncio.sleep(size.seconds / 3)
    victim = workers[-1]
    skip.add(victim.name)
    await asyncio.to_thread(victim.kill)


async def _outage(size: Size, redis: object, **_: object) -> None:
    """Stop Redis for `size.outage` seconds a third of the way in, then start it again."""
    await asyncio.sleep(size.seconds / 3)
    await asyncio.to_thread(redis.stop)  # type: ignore[attr-defined]
    await asyncio.sleep(size.outage)
    await asyncio.to_thread(redis.start)  # type: ignore[attr-defined]


def drops(size: Size, folder: Path) -> Counts:
    return _run(size, folder, fault=_drops)


def kill(size: Size, folder: Path) -> Counts:
    return _run(size, folder, fault=_kill)


def outage(size: Size, folder: Path) -> Counts:
    return _run(size, folder, fault=_outage)


def outage_aof(size: Size, folder: Path) -> Counts:
    return _run(size, folder, aof=True, fault=_outage)


def outage_stream(size: Size, folder: Path) -> Counts:
    return _run(size, folder, fault=_outage, stream=True)


SCENARIOS: dict[str, Callable[[Size, Path], Counts]] = {
    "drops": drops,
    "kill": kill,
    "outage": outage,
    "outage-aof": outage_aof,
    "outage-stream": outage_stream,
}


def run(name: str, size: Size) -> tuple[Counts, float]:
    """Run scenario `name` at `size` in a fresh folder; its counts and how long it took."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"soak-{name}-") as folder:
        counts = SCENARIOS[name](size, Path(folder))
    return counts, time.monotonic() - start
