"""Scenario 5: cross-worker round trip (Redis backend).

pywry: two worker processes share state through a redis-server the bench starts on a free
port. The client's socket is on worker A, which does not hold the widget; worker B registered it
and holds its callback. The event goes A -> Redis -> B (callback) -> Redis -> A -> client.
Baseline: a raw two-hop Redis pub/sub round trip with redis-py asyncio (publish on a request
channel; a separate process republishes on an answer channel the client listens to).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import time
from typing import Any

from .. import load
from ..common import (
    PYTHON,
    CpuMeter,
    Skip,
    base_env,
    free_port,
    percentile,
    run_redis,
    run_server,
    uvicorn_argv,
)
from ..report import Row, Series
from . import Options, pywry_env

NAME = "crossworker"
TITLE = "Cross-worker round trip (Redis)"
CONCURRENCY = (1, 10)


def available() -> str | None:
    """None when the feature is present, else why the scenario is skipped."""
    if importlib.util.find_spec("pywry.state.redis") is None:
        return "pywry.state.redis is missing (shared state backends, issue 6, not merged yet)"
    try:
        from pywry.core.app import App  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover
        return f"pywry.core.app does not import: {exc}"
    if not hasattr(App, "prepare"):
        return "App.prepare is missing: workers cannot load each other's widgets yet"
    if importlib.util.find_spec("redis") is None:
        return "redis-py is not installed (pip install 'pywry[redis]')"
    return None


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    why = available()
    if why:
        raise Skip(why)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(run_redis("crossworker-redis"))
        shared = {
            "PYWRY_DEPLOY__STATE_BACKEND": "redis",
            "PYWRY_DEPLOY__REDIS_URL": url,
            "PYWRY_DEPLOY__REDIS_PREFIX": "bench",
        }
        widgets = max(CONCURRENCY)
        pb, pa = free_port(), free_port()
        owner = stack.enter_context(
            run_server(
                "crossworker-pywry-B",
                uvicorn_argv("bench.servers.pywry_app:app", pb),
                pywry_env(pb, BENCH_RT_WIDGETS=str(widgets), BENCH_ROLE="owner", **shared),
                pb,
                "/health",
            )
        )
        relay = stack.enter_context(
            run_server(
                "crossworker-pywry-A",
                uvicorn_argv("bench.servers.pywry_app:app", pa),
                pywry_env(pa, BENCH_ROLE="relay", **shared),
                pa,
                "/health",
            )
        )
        echo = stack.enter_context(
            run_server_plain(
                "crossworker-baseline-B",
                [PYTHON, "-m", "bench.servers.redis_echo", url, "benchraw"],
            )
        )
        return load.run(measure(relay.url, owner, relay, echo, url, opts))


@contextlib.contextmanager
def run_server_plain(name: str, argv: list[str]) -> Any:
    """A helper process that listens on no port (the raw baseline's worker B)."""
    import subprocess  # noqa: PLC0415

    from ..common import LOGS, ROOT, Server  # noqa: PLC0415

    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{name}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=base_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, proc, 0, log_path)
    try:
        yield server
    finally:
        server.stop()


class RedisPair:
    """The raw baseline's worker A: publish requests, match answers by id."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix

    async def start(self) -> None:
        import redis.asyncio as aioredis  # noqa: PLC0415

        self.r = aioredis.from_url(self.url)
        deadline = time.monotonic() + 15
        while not await self.r.get(f"{self.prefix}:ready"):
            if time.monotonic() > deadline:
                raise RuntimeError("the raw baseline's worker B did not subscribe")
            await asyncio.sleep(0.05)
        self.pubsub = self.r.pubsub()
        await self.pubsub.subscribe(f"{self.prefix}:ans")
        self.waiting: dict[bytes, asyncio.Future[None]] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.pubsub.listen():
            if message["type"] == "message":
                fut = self.waiting.pop(message["data"], None)
                if fut is not None and not fut.done():
                    fut.set_result(None)

    async def round_trip(self, ident: bytes) -> None:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[ident] = fut
        await self.r.publish(f"{self.prefix}:req", ident)
        await asyncio.wait_for(fut, 10)

    async def stop(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(BaseException):
            await self.reader
        await self.pubsub.aclose()
        await self.r.aclose()


async def raw_loop(pair: RedisPair, c: int, seconds: float, warmup: float = 0.2) -> load.LoopResult:
    result = load.LoopResult(seconds=seconds)
    now = time.perf_counter
    start = now() + warmup
    end = start + seconds
    counter = [0]

    async def client(i: int) -> None:
        while True:
            counter[0] += 1
            t = now()
            await pair.round_trip(b"%d:%d:%s" % (i, counter[0], b"x" * 20))
            done = now()
            if start <= done <= end:
                result.completed += 1
                if i == 0:
                    result.latencies.append(done - t)
            if done >= end:
                return

    await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(c))), warmup + seconds + 15)
    return result


async def measure(
    a_url: str, owner: Any, relay: Any, echo: Any, url: str, opts: Options
) -> dict[str, Any]:
    target = load.PywryTarget(a_url)
    conns = await load.open_many(target, max(CONCURRENCY), parallel=10)
    # the first answer proves the route works; a feature still in progress fails here, clearly
    probe = await load.closed_loop(target, conns[:1], 0.3, warmup=0.0)
    if probe.completed == 0:
        await load.close_all(conns)
        raise RuntimeError(
            "no answer came back through worker A within the probe: cross-worker routing "
            "did not deliver (see bench/results/logs/crossworker-*.log)"
        )
    pair = RedisPair(url, "benchraw")
    await pair.start()
    rows: list[Row] = []
    series = Series()
    try:
        for c in CONCURRENCY:
            vals: dict[str, dict[str, list[float]]] = {
                k: {"tput": [], "p50": [], "p99": [], "server": [], "client": []}
                for k in ("pywry", "baseline")
            }
            for r in range(opts.rounds):
                for key in ("pywry", "baseline") if r % 2 == 0 else ("baseline", "pywry"):
                    pids = owner.pids() + relay.pids() if key == "pywry" else echo.pids()
                    with CpuMeter(pids) as cpu:
                        if key == "pywry":
                            res = await load.closed_loop(target, conns[:c], opts.seconds)
                        else:
                            res = await raw_loop(pair, c, opts.seconds)
                    v = vals[key]
                    v["tput"].append(res.throughput)
                    v["server"].append(cpu.server)
                    v["client"].append(cpu.client)
                    if res.latencies:
                        ms = [x * 1000 for x in res.latencies]
                        v["p50"].append(percentile(ms, 50))
                        v["p99"].append(percentile(ms, 99))
                        if c == 1:
                            series.add("crossworker_ms", key, ms)
            cpu_of = {k: (vals[k]["server"], vals[k]["client"]) for k in vals}
            if c == 1:
                for q in ("p50", "p99"):
                    rows.append(
                        Row.make(
                            f"{q} latency, 1 client", "ms", "lower", {k: vals[k][q] for k in vals}
                        )
                    )
            rows.append(
                Row.make(
                    f"throughput, {c} client{'s' if c > 1 else ''}",
                    "round trips/s",
                    "higher",
                    {k: vals[k]["tput"] for k in vals},
                    cpu=cpu_of,
                )
            )
    finally:
        await pair.stop()
        await load.close_all(conns)
    return {
        "rows": rows,
        "series": series,
        "notes": [
            "pywry's path has two WebSocket hops and a callback on top of the baseline's two "
            "Redis hops; server CPU counts both pywry workers (baseline: its worker B; Redis "
            "itself is not counted for either)",
        ],
    }
