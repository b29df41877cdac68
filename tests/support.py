"""Helpers the test suite shares: free ports, real server processes, required binaries."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_binary(path_or_name: str, install_hint: str) -> str:
    """The binary's path; skips locally (fails under CI=true) when it is missing."""
    found = path_or_name if os.path.isabs(path_or_name) and os.path.exists(path_or_name) else None
    found = found or shutil.which(path_or_name)
    if found:
        return found
    message = f"{path_or_name} is not installed ({install_hint})"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without PYWRY_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWRY_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Server:
    """A real server process on a loopback port."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_with(self, text: str, timeout: float = 10.0) -> str:
        """The log once it holds `text` (servers write an access line after the answer)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never reached the log:\n{self.log()[-3000:]}")

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode


def wait_http(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20.0) -> None:
    """Poll `url` until it answers (bounded), failing early if the process died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=1.0, verify=False)
            return
        except httpx.HTTPError as exc:
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _spawned(pid: int) -> bool:
    """A process multiprocessing started as a worker (uvicorn's are; its resource tracker is
    not); False once it is gone."""
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def worker_pids(server: Server) -> list[int]:
    """The worker processes of a deployment: its supervisor's children that serve."""
    return [pid for pid in _children(server.proc.pid) if _spawned(pid)]


def poll(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Wait (bounded, 20 ms apart) until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@contextmanager
def run_server(
    argv: list[str],
    env: Mapping[str, str],
    port: int,
    log_dir: Path,
    *,
    ready_path: str = "/health",
    scheme: str = "http",
    cwd: Path = ROOT,
    host: str = "127.0.0.1",
) -> Iterator[Server]:
    """Start `argv` (a server listening on `host:port`), wait until it answers, stop it after."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{host}-{port}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(argv, env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"{scheme}://{host}:{port}", log_path)
    try:
        wait_http(server.url + ready_path, proc)
        yield server
    except BaseException:
        sys.stderr.write(server.log()[-4000:])
        raise
    finally:
        server.stop()


def run_example(
    name: str, tmp_path: Path, **env: str
) -> Iterator[Server]:  # pragma: no cover - thin wrapper
    """Start `examples/<name>` on a free port with `env` added."""
    port = free_port()
    full = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port), **env)
    return run_server([sys.executable, str(EXAMPLES / name)], full, port, tmp_path)  # type: ignore[return-value]


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket listens on at `port` (from /proc: `127.0.0.1`,
    `0.0.0.0`, `::`, ...), whoever owns it."""
    import ipaddress

    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # /proc prints each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
            found.add(str(ipaddress.ip_address(words)))
    return found


def spawn(argv: list[str], env: Mapping[str, str], cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """Start `argv` in its own process group, stdout and stderr piped and unbuffered (so
    `read_lines` sees every line), as a terminal would start a command."""
    return subprocess.Popen(
        argv,
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        start_new_session=True,
    )


def read_lines(
    proc: subprocess.Popen[bytes], count: int, timeout: float = 20.0, *, stderr: bool = False
) -> list[str]:
    """Read `count` lines of the stdout (or stderr) of `proc` within `timeout` seconds."""
    stream = proc.stderr if stderr else proc.stdout
    assert stream is not None
    lines: list[str] = []
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while len(lines) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"only {lines} after {timeout}s")
            line = stream.readline()
            if not line:
                raise AssertionError(f"process exited ({proc.poll()}) after {lines}")
            lines.append(line.decode().strip())
    return lines


def announced_url(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    """The URL a `start_server` process says it serves at (`pywry: serving ... at URL/; ...`,
    on stderr), read from `spawn`'s pipe within `timeout` seconds; lines before it are skipped."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while len(seen) < 50:
        (line,) = read_lines(proc, 1, max(0.1, deadline - time.monotonic()), stderr=True)
        seen.append(line)
        if line.startswith("pywry: serving ") and " at http" in line:
            return line.split(" at ", 1)[1].split("/;", 1)[0]
    raise AssertionError(f"no 'pywry: serving' line in {seen}")


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, children first."""
    found: list[int] = []
    todo = [pid]
    while todo:
        children = _children(todo.pop())
        found += children
        todo += children
    return found


def _worker_starting(pid: int) -> bool:
    """A worker process that catches no SIGTERM yet: still starting, as a uvicorn worker
    installs its signal handlers once it serves."""
    if not _spawned(pid):
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # gone meanwhile
        return False
    caught = next(
        (line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0"
    )
    return not (int(caught, 16) >> (signal.SIGTERM - 1)) & 1


def ctrl_c(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> tuple[int, str]:
    """Press Ctrl+C in the terminal of `spawn`'s `proc`: SIGINT to its whole process group.

    As a person would, it waits (bounded) until every worker process is up: one still starting
    has Python's own SIGINT handler, which prints a KeyboardInterrupt traceback. Returns the exit
    status (130 for a process that SIGINT killed, as a shell reports it) and the rest of stderr.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if not any(_worker_starting(pid) for pid in _descendants(proc.pid)):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    code = proc.returncode
    return (128 - code if code < 0 else code), err.decode(errors="replace")


def raw_status(port: int, target: str) -> int:
    """The status code the server on 127.0.0.1:`port` answers a GET of exactly `target` with
    (sent byte for byte: an HTTP client or a browser would resolve `..` before sending it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def connection_holder(server_port: int, client_port: int) -> int | None:
    """The pid of the process whose socket is the server end of a loopback TCP connection from
    `client_port` (read from /proc: which worker of several accepted it)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if int(local, 16) == server_port and int(remote, 16) == client_port:
                inode = fields[9]
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) == target for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:  # gone, or not ours
            continue
    return None


def run_async(coro: Any) -> Any:
    """Run a coroutine to completion on a fresh loop in its own thread.

    The session's Playwright browser keeps an event loop running in the main thread, so tests
    cannot call asyncio.run() there.
    """
    import asyncio
    import threading

    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(120)
    if "error" in result:
        raise result["error"]
    return result.get("value")


def make_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 made with the openssl CLI."""
    openssl = require_binary("openssl", "apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key
