"""Scenario 6: round trip over the HTTP stream (POST /events + server-sent events), Flask under
gunicorn (gthread), against pywry over WebSocket under uvicorn (scenario 1's path), same run.

The client opens the widget's event stream, POSTs `app:ping` with its id (one POST at a time,
as the bridge does) and counts a round trip once the POST's answer and the `app:pong` from the
stream have both arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from .. import load
from ..common import (
    CpuMeter,
    Server,
    Skip,
    free_port,
    http_get,
    percentile,
    run_server,
    uvicorn_argv,
)
from ..report import Row, Series
from . import Options, pywry_env

NAME = "httpstream"
TITLE = "HTTP stream round trip (Flask + gunicorn)"
CONCURRENCY = (1, 10)
REFERENCE = "pywry WebSocket"
FLOOR = "plain Flask POST"  # an echo route with no pywry, on the same gunicorn worker
GOAL = 2.0  # p50 over the HTTP stream at most twice the WebSocket's


def available() -> str | None:
    """None when the feature is present, else why the scenario is skipped."""
    if importlib.util.find_spec("pywry.adapters.flask") is None:
        return "pywry.adapters.flask is missing (HTTP stream + adapters, issue 7, not merged yet)"
    if importlib.util.find_spec("pywry.core.stream") is None:
        return "pywry.core.stream is missing (HTTP stream transport, issue 7)"
    if importlib.util.find_spec("flask") is None:
        return "Flask is not installed (pip install 'pywry[flask]')"
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        return "gunicorn is not installed in this environment (pip install gunicorn)"
    return None


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    why = available()
    if why:
        raise Skip(why)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    assert gunicorn
    widgets = max(CONCURRENCY)
    p1, p2 = free_port(), free_port()
    extra = {"BENCH_RT_WIDGETS": str(widgets), "PYWRY_SERVER__SSE_TIMEOUT": "600"}
    with contextlib.ExitStack() as stack:
        flask = stack.enter_context(
            run_server(
                "httpstream-flask-gunicorn",
                [
                    gunicorn,
                    "-k",
                    "gthread",
                    "--threads",
                    "64",
                    "-w",
                    "1",
                    "-b",
                    f"127.0.0.1:{p1}",
                    "--keep-alive",
                    "120",
                    "--log-level",
                    "warning",
                    "bench.servers.flask_app:app",
                ],
                pywry_env(p1, **extra),
                p1,
                "/health",
            )
        )
        ws = stack.enter_context(
            run_server(
                "httpstream-uvicorn-ws",
                uvicorn_argv("bench.servers.pywry_app:app", p2),
                pywry_env(p2, BENCH_RT_WIDGETS=str(widgets)),
                p2,
                "/health",
            )
        )
        return load.run(measure(flask, ws, opts, widgets))


class StreamClient:
    """One page on the HTTP stream: an SSE reader and a keep-alive POST connection."""

    def __init__(self, base: str, boot: dict[str, Any], client: str) -> None:
        self.host, port = base.split("//", 1)[1].split(":")
        self.port = int(port)
        self.boot = boot
        self.client = client
        self.label = boot["label"]
        self.next_id = 0
        self.pongs = 0
        self.pong_event = asyncio.Event()
        self.reader_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        sr, sw = await asyncio.open_connection(self.host, self.port)
        path = f"{self.boot['stream']}?client={self.client}"
        sw.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"X-PyWry-Token: {self.boot['token']}\r\n"
            f"Accept: text/event-stream\r\nLast-Event-ID: {self.boot['seq']}\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(sr.readuntil(b"\r\n\r\n"), 10)
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"event stream refused: {head[:200]!r}")
        self.sse = (sr, sw)
        chunked = b"chunked" in head.lower()
        self.reader_task = asyncio.get_running_loop().create_task(self._read(sr, chunked))
        self.post_rw = await asyncio.open_connection(self.host, self.port)

    async def _read(self, reader: asyncio.StreamReader, chunked: bool) -> None:
        buf = b""
        while True:
            if chunked:
                size = int((await reader.readuntil(b"\r\n")).strip() or b"0", 16)
                if size == 0:
                    return
                data = await reader.readexactly(size + 2)
                buf += data[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    return
                buf += data
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if line.startswith(b"data:") and b"app:pong" in line:
                        msg = json.loads(line[5:])
                        events = msg.get("events", [msg])
                        self.pongs += sum(1 for e in events if e.get("type") == "app:pong")
                        self.pong_event.set()

    async def post(self, body: bytes) -> None:
        reader, writer = self.post_rw
        writer.write(
            (
                f"POST {self.boot['events']} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Origin: http://{self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"X-PyWry-Token: {self.boot['token']}\r\nX-PyWry-Client: {self.client}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"POST answered {head.split(b' ', 2)[1].decode()}")

    async def round_trip(self) -> None:
        self.next_id += 1
        before = self.pongs
        body = b'{"type":"app:ping","data":{"n":%d},"id":%d}' % (self.next_id, self.next_id)
        await self.post(body)
        while self.pongs <= before:
            self.pong_event.clear()
            if self.pongs > before:
                break
            await asyncio.wait_for(self.pong_event.wait(), 10)

    async def close(self) -> None:
        if self.reader_task is not None:
            self.reader_task.cancel()
        for _, w in (self.sse, self.post_rw):
            w.close()


async def post_loop(host: str, port: int, seconds: float, warmup: float = 0.2) -> list[float]:
    """Latencies of POSTs to the plain Flask echo route, one after another on one connection."""
    reader, writer = await asyncio.open_connection(host, port)
    body = b'{"type":"app:ping","data":{"n":1},"id":1}'
    request = (
        f"POST /echo HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    now = time.perf_counter
    start = now() + warmup
    end = start + seconds
    latencies: list[float] = []
    try:
        for _ in range(1_000_000):  # bounded in count as well as in time
            t = now()
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            done = now()
            if start <= done <= end:
                latencies.append(done - t)
            if done >= end:
                break
    finally:
        writer.close()
    return latencies


async def stream_loop(
    clients: list[StreamClient], seconds: float, warmup: float = 0.2
) -> load.LoopResult:
    result = load.LoopResult(seconds=seconds)
    now = time.perf_counter
    start = now() + warmup
    end = start + seconds

    async def one(i: int, c: StreamClient) -> None:
        while True:
            t = now()
            await c.round_trip()
            done = now()
            if start <= done <= end:
                result.completed += 1
                if i == 0:
                    result.latencies.append(done - t)
            if done >= end:
                return

    await asyncio.wait_for(
        asyncio.gather(*(one(i, c) for i, c in enumerate(clients))), warmup + seconds + 20
    )
    return result


def _boot(base: str, label: str) -> dict[str, Any]:
    status, body = http_get(f"{base}/pywry/widget/{label}", timeout=5)
    match = load.BOOTSTRAP.search(body)
    if status != 200 or not match:
        raise RuntimeError(f"Flask page of {label} answered {status} without a bootstrap")
    boot = json.loads(match.group(1))
    if not boot.get("stream") or not boot.get("events"):
        raise RuntimeError("the Flask page's bootstrap has no stream/events URLs")
    return boot


async def measure(flask: Server, ws: Server, opts: Options, widgets: int) -> dict[str, Any]:
    streams = []
    for i in range(widgets):
        c = StreamClient(flask.url, _boot(flask.url, f"rt-{i}"), f"s{i}")
        await c.open()
        streams.append(c)
    target = load.PywryTarget(ws.url)
    conns = await load.open_many(target, widgets, parallel=10)
    rows: list[Row] = []
    series = Series()
    try:
        for c in CONCURRENCY:
            vals: dict[str, dict[str, list[float]]] = {
                k: {"tput": [], "p50": [], "p99": [], "server": [], "client": []}
                for k in ("pywry", REFERENCE)
            }
            for r in range(opts.rounds):
                for key in ("pywry", REFERENCE) if r % 2 == 0 else (REFERENCE, "pywry"):
                    server = flask if key == "pywry" else ws
                    with CpuMeter(server.pids()) as cpu:
                        if key == "pywry":
                            res = await stream_loop(streams[:c], opts.seconds)
                        else:
                            res = await load.closed_loop(target, conns[:c], opts.seconds)
                    v = vals[key]
                    v["tput"].append(res.throughput)
                    v["server"].append(cpu.server)
                    v["client"].append(cpu.client)
                    if res.latencies:
                        ms = [x * 1000 for x in res.latencies]
                        v["p50"].append(percentile(ms, 50))
                        v["p99"].append(percentile(ms, 99))
                        if c == 1:
                            series.add(
                                "httpstream_ms", "HTTP stream" if key == "pywry" else key, ms
                            )
            cpu_of = {k: (vals[k]["server"], vals[k]["client"]) for k in vals}
            if c == 1:
                host, port = flask.url.split("//", 1)[1].split(":")
                floor: list[float] = []
                for _ in range(opts.rounds):
                    ms = [x * 1000 for x in await post_loop(host, int(port), opts.seconds)]
                    floor.append(percentile(ms, 50))
                rows.append(
                    Row.make(
                        "p50 latency, 1 client, against a plain Flask POST",
                        "ms",
                        "lower",
                        {"pywry": vals["pywry"]["p50"], FLOOR: floor},
                        reference=FLOOR,
                        note="the floor: one POST to an echo route with no pywry, same gunicorn",
                    )
                )
                for q in ("p50", "p99"):
                    rows.append(
                        Row.make(
                            f"{q} latency, 1 client",
                            "ms",
                            "lower",
                            {k: vals[k][q] for k in vals},
                            goal=GOAL if q == "p50" else None,
                            reference=REFERENCE,
                        )
                    )
            rows.append(
                Row.make(
                    f"throughput, {c} client{'s' if c > 1 else ''}",
                    "round trips/s",
                    "higher",
                    {k: vals[k]["tput"] for k in vals},
                    cpu=cpu_of,
                    reference=REFERENCE,
                )
            )
    finally:
        for s in streams:
            await s.close()
        await load.close_all(conns)
    return {
        "rows": rows,
        "series": series,
        "notes": [
            "pywry column: HTTP stream under Flask + gunicorn (1 gthread worker, 64 threads); "
            f"reference column: {REFERENCE} under uvicorn",
        ],
    }
