"""Scenario 3: fan-out, one emit to 1,000 connected clients, time until the last one has it.

pywry: client 0 sends `app:fanout`; the widget's sync callback emits `app:tick` once (encoded
once, into the widget's outbox); every connection's writer sends it. The clock runs from the
trigger frame leaving client 0 until the 1,000th client has the tick. Baseline: a raw Starlette
endpoint that, on the same trigger, sends the same bytes to its 1,000 sockets in a plain loop.
Both include one trigger hop in; each round is several fan-outs, its value their median.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from typing import Any

from .. import load
from ..common import CpuMeter, Server, base_env, free_port, run_server, uvicorn_argv
from ..report import Row, Series
from ..wsclient import WSClient
from . import Options, pywry_env

NAME = "fanout"
TITLE = "Fan-out to 1,000 clients"


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    p1, p2 = free_port(), free_port()
    with contextlib.ExitStack() as stack:
        pywry = stack.enter_context(
            run_server(
                "fanout-pywry",
                uvicorn_argv("bench.servers.pywry_app:app", p1),
                pywry_env(p1, BENCH_RT_WIDGETS="1"),
                p1,
                "/health",
            )
        )
        raw = stack.enter_context(
            run_server(
                "fanout-baseline",
                uvicorn_argv("bench.servers.raw_app:app", p2),
                base_env(),
                p2,
                "/health",
            )
        )
        return load.run(measure(pywry, raw, opts))


class Fan:
    """One side: its connections and how to trigger a fan-out."""

    def __init__(self, name: str, server: Server, target: load.Target, trigger: Any) -> None:
        self.name = name
        self.server = server
        self.target = target
        self.trigger = trigger
        self.conns: list[WSClient] = []


async def measure(pywry: Server, raw: Server, opts: Options) -> dict[str, Any]:
    n = opts.connections
    per_round = 5 if opts.quick else 10
    sides = [
        Fan(
            "pywry",
            pywry,
            load.PywryTarget(pywry.url, prefix="fan"),
            lambda c, k: f'{{"type":"app:fanout","data":{{"k":{k}}},"id":{k}}}',
        ),
        Fan(
            "baseline",
            raw,
            load.EchoTarget(raw.url, path="/ws/fan"),
            lambda c, k: f'{{"type":"app:tick","data":{{"k":{k}}}}}',
        ),
    ]
    for side in sides:
        side.conns = await load.open_many(side.target, n, parallel=50, timeout=120)
    samples: dict[str, list[float]] = {s.name: [] for s in sides}
    medians: dict[str, list[float]] = {s.name: [] for s in sides}
    cpu: dict[str, tuple[list[float], list[float]]] = {s.name: ([], []) for s in sides}
    series = Series()
    k = 0
    try:
        for side in sides:  # warm-up
            for _ in range(2):
                k += 1
                await fan_once(side, k)
        for r in range(opts.rounds):
            for side in sides if r % 2 == 0 else list(reversed(sides)):
                times = []
                with CpuMeter(side.server.pids()) as meter:
                    for _ in range(per_round):
                        k += 1
                        last, _ = await fan_once(side, k)
                        times.append(last * 1000)
                samples[side.name].extend(times)
                medians[side.name].append(statistics.median(times))
                cpu[side.name][0].append(meter.server)
                cpu[side.name][1].append(meter.client)
    finally:
        for side in sides:
            await load.close_all(side.conns, timeout=20)
    for name, vals in samples.items():
        series.add("fanout_ms", name, vals)
    row = Row.make(
        f"emit to {n:,} clients, time until the last has it",
        "ms",
        "lower",
        medians,
        goal=2.0,
        cpu=cpu,
    )
    return {
        "rows": [row],
        "series": series,
        "notes": [f"{per_round} fan-outs per round; a round's value is their median"],
    }


async def fan_once(side: Fan, k: int, timeout: float = 15.0) -> tuple[float, float]:
    """Trigger fan-out `k`; returns (seconds until the last client had it, until the median)."""
    loop = asyncio.get_running_loop()
    marker = f'"k":{k}}}'
    need = len(side.conns)
    got: list[float] = []
    done = loop.create_future()
    now = time.perf_counter

    def handler(text: str) -> None:
        if marker in text:
            got.append(now())
            if len(got) >= need and not done.done():
                done.set_result(None)

    for c in side.conns:
        c.on_text = handler
    t0 = now()
    side.conns[0].send(side.trigger(side.conns[0], k))
    try:
        await asyncio.wait_for(done, timeout)
    except asyncio.TimeoutError:
        raise RuntimeError(
            f"{side.name}: only {len(got)} of {need} clients got fan-out {k}"
        ) from None
    finally:
        for c in side.conns:
            c.on_text = None
    got.sort()
    return got[-1] - t0, got[len(got) // 2] - t0
