"""HTTP load for the page-serve scenario: `wrk` when installed, else a raw-socket asyncio client."""

from __future__ import annotations

import asyncio
import re
import resource
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

WRK = shutil.which("wrk")


@dataclass
class HttpResult:
    """One load round."""

    requests_per_s: float
    errors: int
    loadgen_cpu_pct: float
    p50_ms: float | None = None
    p99_ms: float | None = None


def generator() -> str:
    """Which load generator this run uses."""
    if WRK:
        out = subprocess.run([WRK, "--version"], capture_output=True, text=True, check=False)
        version = (
            (out.stdout + out.stderr).strip().splitlines()[0]
            if (out.stdout + out.stderr)
            else "wrk"
        )
        return f"{version.split(' [')[0]} (1 thread)"
    return "built-in asyncio raw-socket HTTP/1.1 client (wrk not installed: apt-get install wrk)"


def run(url: str, seconds: float, connections: int) -> HttpResult:
    """Keep-alive GETs of `url` from `connections` connections for `seconds`."""
    if WRK:
        return _wrk(url, seconds, connections)
    from .load import run as run_loop  # noqa: PLC0415

    return run_loop(_py(url, seconds, connections))  # type: ignore[no-any-return]


def _wrk(url: str, seconds: float, connections: int) -> HttpResult:
    duration = max(1, round(seconds))
    argv = [WRK, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s", url]
    before = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=duration + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    rps = _num(r"Requests/sec:\s+([\d.]+)", out)
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return HttpResult(
        rps or 0.0,
        errors,
        (_children_cpu() - before) / wall * 100,
        _latency(out, "50%"),
        _latency(out, "99%"),
    )


def _num(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def _latency(text: str, label: str) -> float | None:
    m = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if not m:
        return None
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def _children_cpu() -> float:
    """CPU seconds of every reaped child so far (wrk, once `communicate` has reaped it)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


async def _py(url: str, seconds: float, connections: int) -> HttpResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n").encode()
    count = 0
    errors = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    end = t0 + seconds

    async def one() -> None:
        nonlocal count, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < end:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                if m:
                    await reader.readexactly(int(m.group(1)))
                if status == 200:
                    count += 1
                else:
                    errors += 1
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(connections))), seconds + 30)
    wall = time.perf_counter() - t0
    return HttpResult(count / wall, errors, (time.process_time() - c0) / wall * 100)


async def sequential(
    url: str,
    count: int,
    seconds: float,
    headers: Mapping[str, str] | None = None,
    warmup: int = 5,
) -> tuple[list[float], int]:
    """GETs of `url` one after another on one keep-alive connection: latency of each (seconds).

    `warmup` unmeasured GETs first, then up to `count` measured ones, stopping once `seconds`
    have passed; returns the latencies and how many answers were not 200. The answer must carry
    a Content-Length (pywry's pages and the raw baseline's do).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode()
    latencies: list[float] = []
    bad = 0
    now = time.perf_counter

    async def go() -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection(host, port)
        try:
            end = None
            for n in range(warmup + count):
                if n == warmup:
                    end = now() + seconds
                elif end is not None and now() > end:
                    break
                t0 = now()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                if m is None:
                    raise ConnectionError(f"no Content-Length in {head[:200]!r}")
                await reader.readexactly(int(m.group(1)))
                t1 = now()
                if n >= warmup:
                    latencies.append(t1 - t0)
                    if head.split(b" ", 2)[1] != b"200":
                        bad += 1
        finally:
            writer.close()

    await asyncio.wait_for(go(), seconds + 30)
    return latencies, bad
