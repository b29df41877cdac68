"""Scenario 1: event round trip over WebSocket (latency at 1 client, throughput at 1/10/100).

pywry: the client sends `app:ping` (with an id, as the bridge does); a sync callback, run in
pywry's callback thread pool, emits `app:pong`; the client waits for it (the ack comes too,
usually in the same frame). The same with an `async def` callback (runs on the event loop) is
reported on its own rows. Baseline: a raw Starlette endpoint that sends each text frame back,
under the same uvicorn settings. Every connection keeps exactly one request in flight (closed
loop); each client has its own widget, so an answer is never a fan-out. Peers, when set up,
run the same loop against their own round trip.

permessage-deflate: one more connection per target, on a widget of its own, offers
permessage-deflate (`bench/wsclient.py`); uvicorn's `websockets` implementation accepts it for
every server here. p50 at 1 client with it is reported on rows of their own, against the raw
echo over a compressed connection too; the rows without it are measured as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from typing import Any

from .. import load
from ..common import CpuMeter, Server, base_env, free_port, percentile, run_server, uvicorn_argv
from ..report import Row, Series
from . import Options, pywry_env

NAME = "roundtrip"
TITLE = "Event round trip (WebSocket)"
ASYNC = "pywry, async callback"
DEFLATE = "permessage-deflate"


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    p1, p2 = free_port(), free_port()
    widgets = max(opts.concurrency)
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        pywry = stack.enter_context(
            run_server(
                "roundtrip-pywry",
                uvicorn_argv("bench.servers.pywry_app:app", p1),
                # one widget more: the permessage-deflate connection's
                pywry_env(p1, BENCH_RT_WIDGETS=str(widgets + 1)),
                p1,
                "/health",
            )
        )
        raw = stack.enter_context(
            run_server(
                "roundtrip-baseline",
                uvicorn_argv("bench.servers.raw_app:app", p2),
                base_env(),
                p2,
                "/health",
            )
        )
        targets: list[tuple[str, load.Target, Server]] = [
            ("pywry", load.PywryTarget(pywry.url), pywry),
            (ASYNC, load.PywryTarget(pywry.url, prefix="rta-"), pywry),
            ("baseline", load.EchoTarget(raw.url), raw),
        ]
        for peer in peers or ():
            try:
                server = stack.enter_context(peer.server(widgets + 1))
                targets.append((peer.name, peer.target(server), server))
            except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                notes.append(f"{peer.name} could not be started: {exc}")
        result = load.run(measure(targets, opts, widgets, notes))
        result["notes"] = notes + result.get("notes", [])
        return result


async def measure(
    targets: list[tuple[str, load.Target, Server]], opts: Options, widgets: int, notes: list[str]
) -> dict[str, Any]:
    """Interleave the targets round by round (order reversed every other round)."""
    conns: dict[str, list[Any]] = {}
    live = []
    for key, target, server in targets:
        try:
            conns[key] = await load.open_many(target, widgets, parallel=20)
            live.append((key, target, server))
        except Exception as exc:  # noqa: BLE001
            notes.append(f"{key}: could not open {widgets} connections: {exc!r}")
    keys = [k for k, _, _ in live]
    rows: list[Row] = []
    series = Series()
    errors: dict[str, int] = {}
    client_cpu: list[float] = []
    try:
        for c in opts.concurrency:
            s: dict[str, dict[str, list[float]]] = {
                k: {"tput": [], "p50": [], "p99": [], "server": [], "client": [], "cpu_us": []}
                for k in keys
            }
            lat_all: dict[str, list[float]] = {k: [] for k in keys}
            for r in range(opts.rounds):
                order = live if r % 2 == 0 else list(reversed(live))
                for key, target, server in order:
                    with CpuMeter(server.pids()) as cpu:
                        res = await load.closed_loop(
                            target, conns[key][:c], opts.seconds, warmup=opts.warmup
                        )
                    errors[key] = errors.get(key, 0) + res.errors
                    s[key]["tput"].append(res.throughput)
                    s[key]["server"].append(cpu.server)
                    s[key]["client"].append(cpu.client)
                    client_cpu.append(cpu.client)
                    if res.total:
                        s[key]["cpu_us"].append(cpu.server / 100 * cpu.wall / res.total * 1e6)
                    if res.latencies:
                        ms = [x * 1000 for x in res.latencies]
                        s[key]["p50"].append(percentile(ms, 50))
                        s[key]["p99"].append(percentile(ms, 99))
                        if c == 1:
                            lat_all[key].extend(ms)
                    await asyncio.sleep(0.05)
            main = [k for k in keys if k != ASYNC]
            cpu_of = {k: (s[k]["server"], s[k]["client"]) for k in keys}
            if c == 1:
                rows.extend(_p50_rows(s))
                rows.append(_row("p99 latency, 1 client", "ms", "lower", s, main, "p99", None))
                for k in keys:
                    series.add("latency_ms", k, lat_all[k])
            label = f"throughput, {c} client{'s' if c > 1 else ''}"
            rows.append(_row(label, "round trips/s", "higher", s, main, "tput", 0.7, cpu_of))
            if ASYNC in s:
                rows.append(
                    _row(
                        label + ", async callback",
                        "round trips/s",
                        "higher",
                        s,
                        ["baseline"],
                        "tput",
                        0.7,
                        cpu_of,
                        subject=ASYNC,
                    )
                )
            if c == max(opts.concurrency):
                label = f"server CPU per round trip, {c} client{'s' if c > 1 else ''}"
                rows.append(_row(label, "µs", "lower", s, main, "cpu_us", None))
                if ASYNC in s:
                    rows.append(
                        _row(
                            label + ", async callback",
                            "µs",
                            "lower",
                            s,
                            ["baseline"],
                            "cpu_us",
                            None,
                            subject=ASYNC,
                        )
                    )
            for k in keys:
                series.add_point("throughput", k, c, s[k]["tput"])
        rows += await measure_deflate(live, opts, widgets, notes)
    finally:
        for cs in conns.values():
            await load.close_all(cs)
    bad = {k: v for k, v in errors.items() if v}
    notes = [
        f"load client CPU: at most {max(client_cpu, default=0):.0f}% of one core in any round "
        "(one client process; it never saturated a core, so it was not the bottleneck)"
        if max(client_cpu, default=0) < 90
        else f"load client CPU reached {max(client_cpu):.0f}% of a core in some rounds: "
        "those rounds may be client-bound"
    ]
    if bad:
        notes.append(f"connections lost or timed out: {bad}")
    return {"rows": rows, "series": series, "notes": notes}


async def measure_deflate(
    live: list[tuple[str, load.Target, Server]], opts: Options, offset: int, notes: list[str]
) -> list[Row]:
    """p50 at 1 client over a connection that negotiated permessage-deflate, rounds alternating.

    Each target's connection is number `offset` (a widget and client id the other rows never
    use). A target whose server does not accept the extension is left out, with a note.
    """
    conns: dict[str, Any] = {}
    order = []
    for key, target, server in live:
        compressed = copy.copy(target)
        compressed.deflate = True
        try:
            (conn,) = await load.open_many(compressed, 1, offset=offset)
        except Exception as exc:  # noqa: BLE001 - recorded, the others go on
            notes.append(f"{DEFLATE}: {key} could not connect: {exc!r}")
            continue
        if conn.deflate is None:
            notes.append(f"{DEFLATE}: {key}'s server did not accept it; left out of those rows")
            await load.close_all([conn])
            continue
        conns[key] = conn
        order.append((key, compressed, server))
    s: dict[str, dict[str, list[float]]] = {k: {"p50": []} for k in conns}
    try:
        for r in range(opts.rounds):
            for key, target, _server in order if r % 2 == 0 else list(reversed(order)):
                res = await load.closed_loop(target, [conns[key]], opts.seconds, warmup=opts.warmup)
                if res.latencies:
                    ms = [x * 1000 for x in res.latencies]
                    s[key]["p50"].append(percentile(ms, 50))
                await asyncio.sleep(0.05)
        agreed = {
            key: "; ".join(
                f"{name}={value}" if value is not None else name
                for name, value in conn.deflate.params.items()
            )
            or "no parameters"
            for key, conn in conns.items()
        }
        ratios = {
            key: conn.deflate.plain_in / conn.deflate.wire_in
            for key, conn in conns.items()
            if conn.deflate.wire_in
        }
        notes.append(
            f"{DEFLATE} rows: the client offers `permessage-deflate; client_max_window_bits`; "
            "servers answered: " + ", ".join(f"{k}: {v}" for k, v in agreed.items())
        )
        notes.append(
            f"{DEFLATE}: bytes received inflated / on the wire: "
            + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
            + " (context takeover, where the server keeps it, lets repeated messages shrink)"
        )
    finally:
        await load.close_all(list(conns.values()))
    rows = _p50_rows(s, f", {DEFLATE}")
    for row in rows:
        row.note = "both sides over permessage-deflate (the baseline too: raw echo, compressed)"
    return rows


def _p50_rows(s: dict[str, dict[str, list[float]]], suffix: str = "") -> list[Row]:
    """p50 at 1 client with the sync callback (beside the peers) and the async one, goal 1.3."""
    main = [k for k in s if k != ASYNC]
    rows = [_row(f"p50 latency, 1 client{suffix}", "ms", "lower", s, main, "p50", 1.3)]
    if ASYNC in s:
        label = f"p50 latency, 1 client, async callback{suffix}"
        rows.append(_row(label, "ms", "lower", s, ["baseline"], "p50", 1.3, subject=ASYNC))
    return rows


def _row(
    metric: str,
    unit: str,
    better: str,
    s: dict[str, dict[str, list[float]]],
    keys: list[str],
    field: str,
    goal: float | None,
    cpu: dict[str, tuple[list[float], list[float]]] | None = None,
    subject: str = "pywry",
) -> Row:
    values = {"pywry": s[subject][field]} if subject in s else {}
    for k in keys:
        if k != "pywry" and k in s:
            values[k] = s[k][field]
    cpu_rows = None
    if cpu:
        cpu_rows = {("pywry" if k == subject else k): cpu[k] for k in [subject, *keys] if k in cpu}
    return Row.make(metric, unit, better, values, goal=goal, cpu=cpu_rows)
