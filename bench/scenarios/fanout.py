"""Scenario 3: fan-out, one emit to 1,000 connected clients, time until the last one has it.

pywry: client 0 sends `app:fanout`; the widget's sync callback emits `app:tick` once (encoded
once, into the widget's outbox); every connection's writer sends it. The clock runs from the
trigger frame leaving client 0 until the 1,000th client has the tick. Baseline: a raw Starlette
endpoint that, on the same trigger, sends the same bytes to its 1,000 sockets in a plain loop.
Both include one trigger hop in; each round is several fan-outs, its value their median.

How it grows: the same at 100 and 10,000 clients. Both sides' sockets are open at once (rounds
alternate on them) while the load client's file limit allows; at 10,000 it does not (its hard
limit bounds one process to about 20,000 sockets), so each round opens one side's 10,000
sockets, fans out, closes them, then the other side's (order reversed every other round).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import statistics
import time
from typing import Any

from .. import load
from ..common import CpuMeter, Server, base_env, free_port, run_server, uvicorn_argv
from ..report import Row, Series
from ..wsclient import WSClient
from . import SCALE_LIMITS, Options, pywry_env

NAME = "fanout"
TITLE = "Fan-out to 1,000 clients"
GOAL = 1.3


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    p1, p2 = free_port(), free_port()
    with contextlib.ExitStack() as stack:
        pywry = stack.enter_context(
            run_server(
                "fanout-pywry",
                uvicorn_argv("bench.servers.pywry_app:app", p1),
                pywry_env(p1, BENCH_RT_WIDGETS="1", **SCALE_LIMITS),
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


def _sides(pywry: Server, raw: Server) -> list[Fan]:
    return [
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


def _fits(n: int) -> bool:
    """Whether both sides' `n` sockets fit under this process's open-file limit at once."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 2 * n + 500 <= soft


class _Counter:
    """Fan-out numbers: `k` keeps growing so every tick is told apart from earlier ones."""

    def __init__(self) -> None:
        self.k = 0

    def next(self) -> int:
        self.k += 1
        return self.k


async def _fan_round(side: Fan, ticks: _Counter, per_round: int) -> tuple[list[float], CpuMeter]:
    times = []
    with CpuMeter(side.server.pids()) as meter:
        for _ in range(per_round):
            last, _ = await fan_once(side, ticks.next())
            times.append(last * 1000)
    return times, meter


async def measure(pywry: Server, raw: Server, opts: Options) -> dict[str, Any]:
    per_round = 5 if opts.quick else 10
    ticks = _Counter()
    series = Series()
    rows: list[Row] = []
    notes = [f"{per_round} fan-outs per round; a round's value is their median"]
    if opts.quick and max(opts.scale) < 10_000:
        notes.append(f"quick mode: the largest step is {max(opts.scale):,} clients, not 10,000")
    counts = sorted({opts.connections, *opts.scale})
    for n in counts:
        sides = _sides(pywry, raw)
        if _fits(n):
            medians, samples, cpu = await _together(sides, n, opts.rounds, per_round, ticks)
            how = ""
        else:
            rounds = min(opts.rounds, 3)
            medians, samples, cpu = await _apart(sides, n, rounds, per_round, ticks)
            how = f"sockets of one side at a time ({rounds} rounds, each opening {n:,} anew)"
            notes.append(f"{n:,} clients: {how}")
        if n == opts.connections:
            for name, vals in samples.items():
                series.add("fanout_ms", name, vals)
        for name, vals in medians.items():
            series.add_point("scale_fanout_ms", name, n, vals)
        rows.append(
            Row.make(
                f"emit to {n:,} clients, time until the last has it",
                "ms",
                "lower",
                medians,
                goal=GOAL,
                cpu=cpu,
                note=how,
            )
        )
    return {"rows": rows, "series": series, "notes": notes}


#: per side: round medians (ms), every sample (ms), (server CPU %, client CPU %) per round
Stats = tuple[
    dict[str, list[float]], dict[str, list[float]], dict[str, tuple[list[float], list[float]]]
]


def _empty(sides: list[Fan]) -> Stats:
    return (
        {s.name: [] for s in sides},
        {s.name: [] for s in sides},
        {s.name: ([], []) for s in sides},
    )


def _record(stats: Stats, side: Fan, times: list[float], meter: CpuMeter) -> None:
    medians, samples, cpu = stats
    samples[side.name].extend(times)
    medians[side.name].append(statistics.median(times))
    cpu[side.name][0].append(meter.server)
    cpu[side.name][1].append(meter.client)


async def _together(
    sides: list[Fan], n: int, rounds: int, per_round: int, ticks: _Counter
) -> Stats:
    """Both sides' `n` sockets open at once; rounds alternate on them."""
    stats = _empty(sides)
    try:
        for side in sides:
            side.conns = await load.open_many(side.target, n, parallel=50, timeout=120)
        for side in sides:  # warm-up
            for _ in range(2):
                await fan_once(side, ticks.next())
        for r in range(rounds):
            for side in sides if r % 2 == 0 else list(reversed(sides)):
                _record(stats, side, *await _fan_round(side, ticks, per_round))
    finally:
        for side in sides:
            await load.close_all(side.conns, timeout=20)
            side.conns = []
    return stats


async def _apart(sides: list[Fan], n: int, rounds: int, per_round: int, ticks: _Counter) -> Stats:
    """One side's `n` sockets at a time: open, warm up, fan out, close; order alternates."""
    stats = _empty(sides)
    for r in range(rounds):
        for side in sides if r % 2 == 0 else list(reversed(sides)):
            try:
                side.conns = await load.open_many(side.target, n, parallel=100, timeout=300)
                await fan_once(side, ticks.next(), timeout=60)  # warm-up
                _record(stats, side, *await _fan_round(side, ticks, per_round))
            finally:
                await load.close_all(side.conns, timeout=60)
                side.conns = []
            await asyncio.sleep(0.5)  # let the server finish closing before the other side
    return stats


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
