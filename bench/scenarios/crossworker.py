"""Scenario 5: cross-worker round trip (Redis backend).

pywry: two worker processes share state through a redis-server the bench starts on a free
port. The client's socket is on worker A, which does not hold the widget; worker B registered it
and holds its callback. The event goes A -> Redis -> B (callback) -> Redis -> A -> client.
Baselines, in the same run: a raw two-hop Redis pub/sub round trip (publish on a request
channel; a separate process republishes on an answer channel the client listens to), once with
redis-py asyncio and once with hiredis directly (`bench/hiredis_pubsub.py`: RESP written by
hand, replies parsed by `hiredis.Reader`). pywry also runs on a Sentinel group and on a Redis
Cluster (`bench/redis_groups.py`); those rows are against the baselines on single Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import time
from dataclasses import dataclass
from typing import Any

from .. import load
from ..common import (
    PYTHON,
    CpuMeter,
    Server,
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
BASELINE = "baseline"  # raw two hops with redis-py asyncio
HIREDIS = "raw hiredis"  # raw two hops with hiredis.Reader and hand-written RESP
SUBJECT_OF = {"single": "pywry", "Sentinel": "pywry, Sentinel", "Cluster": "pywry, Cluster"}
GOAL = 1.5


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
    from .. import redis_groups  # noqa: PLC0415 - needs redis-py, checked above

    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(run_redis("crossworker-redis"))
        widgets = max(CONCURRENCY)
        pairs = [start_pair(stack, "single", url, widgets)]
        groups = (("Sentinel", redis_groups.sentinel_group), ("Cluster", redis_groups.cluster))
        for mode, group in groups:
            try:
                group_url = stack.enter_context(group())
                pairs.append(start_pair(stack, mode, group_url, widgets, cluster=mode == "Cluster"))
            except Skip as exc:
                notes.append(f"{mode}: not measured: {exc}")
        echo = stack.enter_context(
            run_server_plain(
                "crossworker-baseline-B",
                [PYTHON, "-m", "bench.servers.redis_echo", url, "benchraw", "redis-py"],
            )
        )
        fast = None
        if importlib.util.find_spec("hiredis") is None:
            notes.append(f"{HIREDIS}: not measured: hiredis is not installed (pip install hiredis)")
        else:
            fast = stack.enter_context(
                run_server_plain(
                    "crossworker-hiredis-B",
                    [PYTHON, "-m", "bench.servers.redis_echo", url, "benchfast", "hiredis"],
                )
            )
        result = load.run(measure(pairs, echo, fast, url, opts, notes))
        result["notes"] = notes + result["notes"]
        return result


@dataclass
class Pair:
    """pywry's two workers on one Redis deployment: B owns the widgets, clients talk to A."""

    mode: str  # "single", "Sentinel" or "Cluster"
    owner: Server
    relay: Server

    def pids(self) -> list[int]:
        return self.owner.pids() + self.relay.pids()


def start_pair(
    stack: contextlib.ExitStack, mode: str, url: str, widgets: int, *, cluster: bool = False
) -> Pair:
    """Start worker B (owner) and worker A (relay) on `url`; stopped with `stack`."""
    shared = {
        "PYWRY_DEPLOY__STATE_BACKEND": "redis",
        "PYWRY_DEPLOY__REDIS_URL": url,
        "PYWRY_DEPLOY__REDIS_PREFIX": "bench",
    }
    if cluster:
        shared["PYWRY_DEPLOY__REDIS_CLUSTER"] = "true"
    tag = "" if mode == "single" else f"-{mode.lower()}"
    pb, pa = free_port(), free_port()
    owner = stack.enter_context(
        run_server(
            f"crossworker{tag}-pywry-B",
            uvicorn_argv("bench.servers.pywry_app:app", pb),
            pywry_env(pb, BENCH_RT_WIDGETS=str(widgets), BENCH_ROLE="owner", **shared),
            pb,
            "/health",
        )
    )
    relay = stack.enter_context(
        run_server(
            f"crossworker{tag}-pywry-A",
            uvicorn_argv("bench.servers.pywry_app:app", pa),
            pywry_env(pa, BENCH_ROLE="relay", **shared),
            pa,
            "/health",
        )
    )
    return Pair(mode, owner, relay)


@contextlib.contextmanager
def run_server_plain(name: str, argv: list[str]) -> Any:
    """A helper process that listens on no port (the raw baseline's worker B)."""
    import subprocess  # noqa: PLC0415

    from ..common import LOGS, ROOT  # noqa: PLC0415

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
    """The raw baseline's worker A (redis-py asyncio): publish requests, match answers by id."""

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


class HiredisPair:
    """The hiredis baseline's worker A: the same round trip over `bench/hiredis_pubsub.py`.

    PUBLISH is written without waiting for its reply (read and dropped as it comes); the
    answer is matched by id in the subscription's `data_received`, with no task per message.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.request = f"{prefix}:req".encode()

    async def start(self) -> None:
        from ..hiredis_pubsub import open_connection  # noqa: PLC0415

        self.pub = await open_connection(self.url)
        deadline = time.monotonic() + 15
        while not await self.pub.call("GET", f"{self.prefix}:ready"):
            if time.monotonic() > deadline:
                raise RuntimeError("the hiredis baseline's worker B did not subscribe")
            await asyncio.sleep(0.05)
        self.waiting: dict[bytes, asyncio.Future[None]] = {}
        self.sub = await open_connection(self.url)
        self.sub.on_message = self._answer
        await self.sub.call("SUBSCRIBE", f"{self.prefix}:ans")

    def _answer(self, _channel: bytes, data: bytes) -> None:
        fut = self.waiting.pop(data, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def round_trip(self, ident: bytes) -> None:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[ident] = fut
        self.pub.send(b"PUBLISH", self.request, ident)
        await asyncio.wait_for(fut, 10)

    async def stop(self) -> None:
        self.sub.close()
        self.pub.close()


async def raw_loop(
    pair: RedisPair | HiredisPair, c: int, seconds: float, warmup: float = 0.2
) -> load.LoopResult:
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
    pairs: list[Pair],
    echo: Server,
    fast: Server | None,
    url: str,
    opts: Options,
    notes: list[str],
) -> dict[str, Any]:
    """Rounds alternate over pywry (per Redis deployment) and the raw baselines.

    At 1 client: every target; at 10 clients: pywry on single Redis and redis-py's baseline.
    """
    targets: dict[str, load.Target] = {}
    conns: dict[str, list[Any]] = {}
    pids: dict[str, Any] = {}
    rows: list[Row] = []
    series = Series()
    raw: dict[str, RedisPair | HiredisPair] = {}
    try:
        for pair in pairs:
            key = SUBJECT_OF[pair.mode]
            target = load.PywryTarget(pair.relay.url)
            cs = await load.open_many(target, max(CONCURRENCY), parallel=10)
            conns[key] = cs
            # the first answer proves the route works; a feature in progress fails here, clearly
            probe = await load.closed_loop(target, cs[:1], 0.3, warmup=0.0)
            if probe.completed == 0:
                why = (
                    f"no answer came back through worker A within the probe ({pair.mode} "
                    "Redis): cross-worker routing did not deliver (see "
                    "bench/results/logs/crossworker-*.log)"
                )
                if pair.mode == "single":
                    raise RuntimeError(why)
                notes.append(f"{pair.mode}: not measured: {why}")
                continue
            targets[key] = target
            pids[key] = pair.pids
        raw[BASELINE] = RedisPair(url, "benchraw")
        pids[BASELINE] = echo.pids
        if fast is not None:
            raw[HIREDIS] = HiredisPair(url, "benchfast")
            pids[HIREDIS] = fast.pids
        for pair_ in raw.values():
            await pair_.start()
        for c in CONCURRENCY:
            keys = [*targets, *raw] if c == 1 else ["pywry", BASELINE]
            vals: dict[str, dict[str, list[float]]] = {
                k: {"tput": [], "p50": [], "p99": [], "server": [], "client": []} for k in keys
            }
            for r in range(opts.rounds):
                for key in keys if r % 2 == 0 else list(reversed(keys)):
                    with CpuMeter(pids[key]()) as cpu:
                        if key in targets:
                            res = await load.closed_loop(targets[key], conns[key][:c], opts.seconds)
                        else:
                            res = await raw_loop(raw[key], c, opts.seconds)
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
            if c == 1:
                rows += latency_rows(vals)
            main = ("pywry", BASELINE)
            rows.append(
                Row.make(
                    f"throughput, {c} client{'s' if c > 1 else ''}",
                    "round trips/s",
                    "higher",
                    {k: vals[k]["tput"] for k in main},
                    cpu={k: (vals[k]["server"], vals[k]["client"]) for k in main},
                )
            )
    finally:
        for pair_ in raw.values():
            with contextlib.suppress(Exception):
                await pair_.stop()
        for cs in conns.values():
            await load.close_all(cs)
    return {
        "rows": rows,
        "series": series,
        "notes": [
            "pywry's path has two WebSocket hops and a callback on top of the baselines' two "
            "Redis hops; server CPU counts both pywry workers (baselines: their worker B; Redis "
            "itself is not counted for either)",
            f"baselines: {BASELINE} (redis-py asyncio) and {HIREDIS} (hand-written RESP parsed "
            "by hiredis.Reader, bench/hiredis_pubsub.py), both on the single Redis; the "
            "Sentinel and Cluster rows compare pywry on those deployments with the same "
            "single-Redis baselines",
            "Sentinel: one master, one replica, three Sentinels; Cluster: three masters, no "
            "replicas (bench/redis_groups.py)",
            f"redis-py parses replies with {_redis_py_parser()} (pywry's client and the "
            "redis-py baseline alike)",
        ],
    }


def _redis_py_parser() -> str:
    """Which reply parser redis-py uses here (it takes hiredis when that is installed)."""
    try:
        from redis.utils import HIREDIS_AVAILABLE  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return "an unknown parser"
    return "hiredis" if HIREDIS_AVAILABLE else "its pure-Python parser"


def latency_rows(vals: dict[str, dict[str, list[float]]]) -> list[Row]:
    """p50 (and p99 on single Redis) of pywry per deployment, against each baseline."""
    rows = []
    for mode in ("single", "Sentinel", "Cluster"):
        key = SUBJECT_OF[mode]
        if key not in vals:
            continue
        on = "" if mode == "single" else f", {mode}"
        note = "" if mode == "single" else f"pywry on Redis {mode}; the baseline on single Redis"
        for ref in (BASELINE, HIREDIS):
            if ref not in vals:
                continue
            against = "" if ref == BASELINE else f", against {HIREDIS}"
            rows.append(
                Row.make(
                    f"p50 latency, 1 client{on}{against}",
                    "ms",
                    "lower",
                    {"pywry": vals[key]["p50"], ref: vals[ref]["p50"]},
                    goal=GOAL,
                    note=note,
                    reference=ref,
                )
            )
        if mode == "single":
            rows.append(
                Row.make(
                    "p99 latency, 1 client",
                    "ms",
                    "lower",
                    {"pywry": vals[key]["p99"], BASELINE: vals[BASELINE]["p99"]},
                )
            )
    return rows
