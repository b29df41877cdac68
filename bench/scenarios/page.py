"""Scenario 2: page serve, GET of a widget page, requests per second with 1 and 2 workers.

Both servers run under `uvicorn --workers N` with an app import string. pywry uses the memory
backend and a module-level widget: the page route only reads the registry, so each worker serves
its own copy. This measures serving, not shared state. The baseline is a raw FastAPI
`HTMLResponse` of the exact bytes pywry served in the same run.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .. import httpload
from ..common import LOGS, CpuMeter, Server, base_env, free_port, http_get, run_server, uvicorn_argv
from ..report import Row
from . import Options, pywry_env

NAME = "page"
TITLE = "Page serve"
CONNECTIONS = 32


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    rows: list[Row] = []
    notes = [
        f"load generator: {httpload.generator()}, {CONNECTIONS} keep-alive connections",
        "2 workers: `uvicorn --workers 2`, memory backend, module-level widget in each worker "
        "(measures serving, not shared state)",
    ]
    page_file = LOGS / "page.html"
    for workers in (1, 2):
        p1, p2 = free_port(), free_port()
        with contextlib.ExitStack() as stack:
            pywry = stack.enter_context(
                run_server(
                    f"page-pywry-{workers}w",
                    uvicorn_argv("bench.servers.pywry_app:app", p1, workers),
                    pywry_env(p1, BENCH_RT_WIDGETS="1"),
                    p1,
                    "/widget/page",
                )
            )
            status, body = http_get(pywry.url + "/widget/page")
            if status != 200:
                raise RuntimeError(f"pywry page answered {status}")
            page_file.write_bytes(body)
            raw = stack.enter_context(
                run_server(
                    f"page-baseline-{workers}w",
                    uvicorn_argv("bench.servers.raw_app:app", p2, workers),
                    base_env(BENCH_PAGE_FILE=str(page_file)),
                    p2,
                    "/widget/page",
                )
            )
            _, raw_body = http_get(raw.url + "/widget/page")
            if workers == 1:
                notes.append(
                    f"page size: pywry {len(body):,} bytes, baseline {len(raw_body):,} bytes"
                )
            targets: list[tuple[str, Server, str]] = [
                ("pywry", pywry, pywry.url + "/widget/page"),
                ("baseline", raw, raw.url + "/widget/page"),
            ]
            if workers == 1:
                for peer in peers or ():
                    if not peer.in_page:
                        notes.append(f"{peer.name}: its page is another peer's, not measured twice")
                        continue
                    server = stack.enter_context(peer.page_server())
                    targets.append((peer.name, server, server.url + peer.page_path))
                    _, peer_body = http_get(server.url + peer.page_path)
                    notes.append(f"{peer.name} page ({peer.page_path}): {len(peer_body):,} bytes")
            rows.extend(measure(targets, opts, workers))
    return {"rows": rows, "notes": notes}


def measure(targets: list[tuple[str, Server, str]], opts: Options, workers: int) -> list[Row]:
    rps: dict[str, list[float]] = {name: [] for name, _, _ in targets}
    cpu_us: dict[str, list[float]] = {name: [] for name, _, _ in targets}
    cpu: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name, _, _ in targets}
    errors: dict[str, int] = {name: 0 for name, _, _ in targets}
    for _name, _, url in targets:  # warm-up (wrk runs whole seconds; quick mode saves them)
        if opts.quick:
            for _ in range(100):
                http_get(url)
        else:
            httpload.run(url, 1, CONNECTIONS)
    for r in range(opts.rounds):
        order = targets if r % 2 == 0 else list(reversed(targets))
        for name, server, url in order:
            with CpuMeter(server.pids()) as meter:
                res = httpload.run(url, opts.seconds, CONNECTIONS)
            rps[name].append(res.requests_per_s)
            if res.requests_per_s:
                cpu_us[name].append(meter.server / 100 / res.requests_per_s * 1e6)
            cpu[name][0].append(meter.server)
            cpu[name][1].append(res.loadgen_cpu_pct)
            errors[name] += res.errors
    bad = {k: v for k, v in errors.items() if v}
    workers_s = f"{workers} worker{'s' if workers > 1 else ''}"
    rows = [
        Row.make(
            f"requests/s, {workers_s}",
            "req/s",
            "higher",
            rps,
            goal=0.8,
            cpu=cpu,
            note=f"non-2xx or socket errors: {bad}" if bad else "",
        )
    ]
    if workers == 1:
        rows.append(Row.make(f"server CPU per request, {workers_s}", "µs", "lower", cpu_us))
    return rows
