"""`python -m bench`: run the scenarios, write results/latest.{json,md} and the plots."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import shlex
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import httpload
from .common import LOGS, RESULTS, Skip, machine, raise_fd_limit, versions
from .report import Row, Series, write
from .scenarios import Options

SCENARIOS = [
    "roundtrip",
    "page",
    "fanout",
    "memory",
    "crossworker",
    "httpstream",
    "visitors",
    "auth",
]
WITH_PEERS = {"roundtrip", "page", "memory"}
QUICK_SCALE_TOP = 5_000  # the largest "how it grows" step with --quick (10,000 otherwise)
ALL = [*SCENARIOS, "peers"]
PACKAGES = [
    "pywry",
    "uvicorn",
    "starlette",
    "fastapi",
    "websockets",
    "uvloop",
    "httptools",
    "orjson",
    "redis",
    "flask",
    "gunicorn",
    "matplotlib",
]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="pywry benchmarks: every figure against a baseline measured in the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="short rounds (roughly 3 minutes)")
    parser.add_argument(
        "--only", default="", help=f"comma-separated scenarios to run ({', '.join(ALL)})"
    )
    parser.add_argument("--seconds", type=float, default=None, help="length of one round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per measurement")
    parser.add_argument(
        "--concurrency", default=None, help="round-trip client counts (default 1,10,100)"
    )
    parser.add_argument(
        "--connections", type=int, default=1000, help="fan-out / idle-memory connections"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    parser.add_argument(
        "--no-upgrade", action="store_true", help="use the peers venv as it is (no pip upgrade)"
    )
    return parser.parse_args(argv)


def options(args: argparse.Namespace) -> Options:
    if args.quick:
        opts = Options(seconds=0.5, rounds=3, quick=True, warmup=0.1)
        opts.rounds_memory = 1
        opts.scale = (100, QUICK_SCALE_TOP)  # 10,000 only in the full run (see the notes)
    else:
        opts = Options(seconds=1.5, rounds=5)
        opts.rounds_memory = 3
    if args.seconds is not None:
        opts.seconds = args.seconds
    if args.rounds is not None:
        opts.rounds = max(1, args.rounds)
        opts.rounds_memory = min(opts.rounds_memory, opts.rounds)
    if args.concurrency:
        opts.concurrency = tuple(int(x) for x in args.concurrency.split(",") if x.strip())
    opts.connections = args.connections
    return opts


def selected(only: str) -> list[str]:
    if not only:
        return list(ALL)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    if names == ["peers"]:  # the peer comparison alone: the scenarios peers take part in
        names = [*sorted(WITH_PEERS, key=SCENARIOS.index), "peers"]
    return names


def _cpu_busy() -> tuple[int, int]:
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    opts = options(args)
    names = selected(args.only)
    raise_fd_limit()
    os.chdir(Path(__file__).resolve().parent.parent)  # server apps import as bench.servers.*
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(
                ["python -m bench", *(shlex.quote(a) for a in (argv or sys.argv[1:]))]
            ),
            "options": {
                "seconds": opts.seconds,
                "rounds": opts.rounds,
                "memory_rounds": opts.rounds_memory,
                "quick": opts.quick,
                "concurrency": list(opts.concurrency),
                "connections": opts.connections,
                "scenarios": names,
            },
            "machine": machine(),
            "versions": versions(PACKAGES),
            "load_client": (
                "one asyncio process (uvloop) with a minimal RFC 6455 client "
                "(bench/wsclient.py: no compression except on rows that say permessage-deflate, "
                "no task per message); CPU of the client process is reported next to the "
                "server's"
            ),
            "http_load_generator": httpload.generator(),
            "conditions": [
                "servers are real subprocesses on free 127.0.0.1 ports; the load client runs in "
                "the bench process on the same machine, so client and server share its CPUs",
                "every uvicorn server (pywry, baselines, PyWebIO) starts through "
                "bench/servers/launch.py: uvloop, httptools, uvicorn's default WebSocket "
                "implementation, log level warning, no access log",
                "pywry's per-connection event rate limit is lifted to 1,000,000/s (the limiter "
                "still runs) and its per-widget connection cap raised to 5,000 (20,000, with the "
                "per-address cap, in the fan-out and memory scenarios)",
                "rounds of pywry, its baseline and the peers alternate (order reversed every "
                "other round), so drift and background load hit them alike",
                "CPU columns (in latest.json): % of one core over a round, server process tree "
                "and load client",
            ],
        },
        "scenarios": {},
    }
    series = Series()
    peers: list[Any] = []
    if "peers" in names:
        print("== peers: setting up bench/.peers-venv", flush=True)
        from . import peers as peers_mod  # noqa: PLC0415

        t0 = time.monotonic()
        try:
            peers, info = peers_mod.available(upgrade=not (args.no_upgrade or opts.quick))
        except Exception as exc:  # noqa: BLE001 - peers never fail the run
            peers, info = [], {"failed": {"all": f"{type(exc).__name__}: {exc}"}}
        info["setup_s"] = round(time.monotonic() - t0, 1)
        results["peers"] = info
        for name, why in info.get("failed", {}).items():
            print(f"   {name}: not measured: {why}", flush=True)
        for peer in peers:
            print(f"   {peer.name} {peer.version}", flush=True)
    for name in [n for n in SCENARIOS if n in names]:
        module = importlib.import_module(f"bench.scenarios.{name}")
        print(f"== {name}: {module.TITLE}", flush=True)
        t0 = time.monotonic()
        busy0 = _cpu_busy()
        load0 = os.getloadavg()[0]
        entry: dict[str, Any] = {"title": module.TITLE, "status": "ok"}
        try:
            out = module.run(opts, peers if name in WITH_PEERS else None)
            entry["rows"] = [r.to_json() if isinstance(r, Row) else r for r in out.get("rows", [])]
            entry["notes"] = list(out.get("notes", []))
            if name == "fanout" and peers:
                entry["notes"] += [
                    f"{p.name}: not measured: {p.unsupported['fanout']}"
                    for p in peers
                    if "fanout" in p.unsupported
                ]
            if isinstance(out.get("series"), Series):
                series.merge(out["series"])
                entry["distributions"] = out["series"].to_json()
        except Skip as exc:
            entry.update(status="skipped", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one scenario failing does not stop the others
            entry.update(status="error", reason=f"{type(exc).__name__}: {exc}")
            (LOGS / f"{name}.traceback.txt").write_text(traceback.format_exc())
        busy1 = _cpu_busy()
        total = busy1[1] - busy0[1]
        entry["duration_s"] = round(time.monotonic() - t0, 1)
        entry["system_cpu_busy_pct"] = (
            round((busy1[0] - busy0[0]) / total * 100 * (os.cpu_count() or 1), 1) if total else None
        )
        entry["loadavg_1min_at_start"] = round(load0, 2)
        results["scenarios"][name] = entry
        status = entry["status"] + (f": {entry.get('reason')}" if entry["status"] != "ok" else "")
        print(f"   {status} ({entry['duration_s']:.0f} s)", flush=True)
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    paths = write(results, series, args.out)
    print()
    print(paths[1].read_text())
    print(
        "written: "
        + ", ".join(
            str(p.relative_to(Path.cwd())) if p.is_relative_to(Path.cwd()) else str(p)
            for p in paths
        )
    )
    return 1 if any(s["status"] == "error" for s in results["scenarios"].values()) else 0
