"""Shared plumbing: server subprocesses on free loopback ports, CPU and memory readings, stats."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
LOGS = RESULTS / "logs"
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
FD_LIMIT = 16384


class Skip(Exception):
    """A scenario (or one target of it) cannot run here; the message is recorded as the reason."""


def raise_fd_limit(want: int = FD_LIMIT) -> int:
    """Raise RLIMIT_NOFILE towards `want` (bounded by the hard limit); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(
    url: str, timeout: float = 2.0, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """A plain GET (status, body), with extra `headers` if given; errors raise."""
    req = urllib.request.Request(url, headers={"Connection": "close", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:  # noqa: S310 - loopback only
            return res.status, res.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# -- processes ---------------------------------------------------------------------------------
def proc_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (uvicorn/gunicorn workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime+stime of the given processes (all threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_bytes(pids: Sequence[int]) -> int:
    """Resident set size (VmRSS) of the given processes, summed."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


class CpuMeter:
    """CPU used by this (client) process and by a server's process tree over a window."""

    def __init__(self, server_pids: Sequence[int] = ()) -> None:
        self.server_pids = list(server_pids)

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.c0 = time.process_time()
        self.s0 = cpu_seconds(self.server_pids)
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.client = (time.process_time() - self.c0) / self.wall * 100
        self.server = (cpu_seconds(self.server_pids) - self.s0) / self.wall * 100


@dataclass
class Server:
    """A server subprocess listening on a loopback port."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return proc_tree(self.proc.pid)

    def log(self, tail: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        else:  # the group may still hold workers
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def base_env(**extra: str) -> dict[str, str]:
    """The environment for a server: ours without PYWRY_* or PYTHON* leftovers, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYWRY_", "PYTHON", "VIRTUAL_ENV", "WEB_CONCURRENCY", "UVICORN_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def wait_ready(server: Server, path: str, timeout: float = 30.0, ready: Any = None) -> None:
    """Poll `path` until it answers (any status below 500), bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if not server.alive():
            raise Skip(
                f"{server.name} exited with {server.proc.returncode} before it answered; "
                f"log tail: {server.log(800)!r}"
            )
        try:
            status, body = http_get(server.url + path, timeout=1.0)
            if status < 500 and (ready is None or ready(status, body)):
                return
            last = status
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise Skip(f"{server.name} did not answer {path} within {timeout:.0f}s ({last})")


def wait_stable(server: Server, path: str, settle: float = 3.0, timeout: float = 30.0) -> None:
    """Wait until `path` has answered without a failure for `settle` seconds in a row.

    For servers that answer on a temporary listener first and then restart it (PyPI PyWry's
    `show()` starts an in-process server that `deploy()` stops before running uvicorn).
    """
    deadline = time.monotonic() + timeout
    since = time.monotonic()
    while time.monotonic() < deadline:
        if not server.alive():
            raise Skip(
                f"{server.name} exited with {server.proc.returncode}; log tail: {server.log(800)!r}"
            )
        try:
            status, _ = http_get(server.url + path, timeout=1.0)
            ok = status == 200
        except OSError:
            ok = False
        now = time.monotonic()
        if not ok:
            since = now
        elif now - since >= settle:
            return
        time.sleep(0.1)
    raise Skip(f"{server.name} did not answer {path} steadily within {timeout:.0f}s")


@contextlib.contextmanager
def run_server(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    port: int,
    ready_path: str,
    *,
    timeout: float = 30.0,
    cwd: Path = ROOT,
    need_200: bool = False,
) -> Iterator[Server]:
    """Start `argv` in its own process group, wait until it answers, always stop it after."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{name}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(name, proc, port, log_path, dict(env))
    try:
        wait_ready(server, ready_path, timeout, (lambda st, _b: st == 200) if need_200 else None)
        yield server
    finally:
        server.stop()


def uvicorn_argv(app: str, port: int, workers: int = 1, python: str = PYTHON) -> list[str]:
    """The one launcher every uvicorn server of the bench goes through (same settings for all)."""
    return [
        python,
        "-m",
        "bench.servers.launch",
        app,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


# -- statistics --------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = (len(data) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def summary(rounds: Sequence[float]) -> dict[str, Any]:
    """Median over rounds and the spread (min, max, and (max-min)/median in percent)."""
    vals = [float(v) for v in rounds if v == v]  # drop NaN
    if not vals:
        return {"median": None, "min": None, "max": None, "spread_pct": None, "rounds": []}
    med = statistics.median(vals)
    return {
        "median": med,
        "min": min(vals),
        "max": max(vals),
        "spread_pct": (max(vals) - min(vals)) / med * 100 if med else None,
        "rounds": vals,
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "platform": platform.platform(),
    }


def versions(names: Sequence[str]) -> dict[str, str | None]:
    """Installed versions of `names` in this environment."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


@contextlib.contextmanager
def run_redis(name: str = "redis") -> Iterator[str]:
    """A private redis-server on a free loopback port (never the shared default one)."""
    import shutil  # noqa: PLC0415

    binary = shutil.which("redis-server")
    if binary is None:
        raise Skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{name}.log"
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, proc, port, log_path)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise Skip(f"redis-server did not start: {server.log(400)!r}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.stop()
