"""Scenario 4: idle memory, RSS growth per idle WebSocket connection at 1,000 connections.

Each round starts a fresh server, opens and closes a few connections (imports and first-use
allocations out of the way), reads VmRSS from /proc, opens 1,000 idle connections, waits for
the server to settle and reads it again: (after - before) / 1,000. pywry: 1,000 connections to
one widget. Baseline: 1,000 raw Starlette sockets that wait in `receive_text()`. Peers, when
set up: PyWebIO sessions (one per connection, as its browser pages open them) and PyPI PyWry
connections (one per widget, since it keeps one socket per widget).

How it grows: the same for pywry and the baseline at 100 and 10,000 connections (fresh servers,
rounds alternating as above); peers are measured at 1,000 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from .. import load
from ..common import Server, base_env, free_port, rss_bytes, run_server, uvicorn_argv
from ..report import Row, Series
from . import SCALE_LIMITS, Options, pywry_env

NAME = "memory"
TITLE = "Idle memory per connection"
GOAL = 1.2


def _pywry() -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    return run_server(
        "memory-pywry",
        uvicorn_argv("bench.servers.pywry_app:app", port),
        pywry_env(port, BENCH_RT_WIDGETS="1", **SCALE_LIMITS),
        port,
        "/health",
    )


def _raw() -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    return run_server(
        "memory-baseline",
        uvicorn_argv("bench.servers.raw_app:app", port),
        base_env(),
        port,
        "/health",
    )


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    n = opts.connections
    notes = [
        "RSS from /proc/<pid>/status VmRSS; a fresh server per round; peers: one round each",
    ]
    if opts.quick and max(opts.scale) < 10_000:
        notes.append(f"quick mode: the largest step is {max(opts.scale):,} connections, not 10,000")
    rows = []
    series = Series()
    for count in sorted({n, *opts.scale}):
        values = _sweep_step(count, opts, peers if count == n else None, notes)
        for name in ("pywry", "baseline"):
            series.add_point("scale_memory_kib", name, count, values.get(name, []))
        rows.append(
            Row.make(f"RSS per idle connection at {count:,}", "KiB", "lower", values, goal=GOAL)
        )
    return {"rows": rows, "notes": notes, "series": series}


def _sweep_step(
    n: int, opts: Options, peers: list[Any] | None, notes: list[str]
) -> dict[str, list[float]]:
    """KiB per idle connection at `n`, per side, over `opts.rounds_memory` rounds."""
    sides: list[tuple[str, Callable[[], Any], Callable[[Server], load.Target], int]] = [
        ("pywry", _pywry, lambda s: load.PywryTarget(s.url, prefix="fan"), opts.rounds_memory),
        ("baseline", _raw, lambda s: load.EchoTarget(s.url, path="/ws/fan"), opts.rounds_memory),
    ]
    for peer in peers or ():
        sides.append((peer.name, lambda p=peer: p.server(n + 20), lambda s, p=peer: p.target(s), 1))
    values: dict[str, list[float]] = {name: [] for name, *_ in sides}
    rounds = max(r for *_, r in sides)
    for r in range(rounds):
        for name, start, make_target, want in sides if r % 2 == 0 else list(reversed(sides)):
            if r >= want:
                continue
            try:
                with start() as server:
                    per_conn = load.run(
                        measure(
                            server, make_target(server), n, peer=name not in ("pywry", "baseline")
                        )
                    )
                values[name].append(per_conn / 1024)
            except Exception as exc:  # noqa: BLE001 - a peer that fails is recorded
                if name in ("pywry", "baseline"):
                    raise
                notes.append(f"{name}: {exc}")
    return {k: v for k, v in values.items() if v}


async def measure(server: Server, target: load.Target, n: int, peer: bool) -> float:
    """Bytes of RSS per idle connection."""
    warm = await load.open_many(target, 20, parallel=20, offset=n if peer else 0)
    await load.close_all(warm)
    await asyncio.sleep(0.5)
    before = rss_bytes(server.pids())
    conns = await load.open_many(target, n, parallel=50, timeout=300)
    try:
        await asyncio.sleep(1.0)
        after = _settled_rss(server)
    finally:
        await load.close_all(conns, timeout=60)
    return (after - before) / n


def _settled_rss(server: Server, timeout: float = 5.0) -> int:
    """VmRSS once it stops moving (two reads 0.25 s apart within 1%), bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    last = rss_bytes(server.pids())
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = rss_bytes(server.pids())
        if abs(now - last) <= 0.01 * last:
            return now
        last = now
    return last
