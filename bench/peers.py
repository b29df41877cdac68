"""Peers installed from the package index into bench/.peers-venv, at their newest release.

- PyWebIO: a button whose callback outputs text (`servers/peer_pywebio_app.py`), served by its
  FastAPI/Starlette integration under the same uvicorn launcher and settings as pywry; twice:
  thread-based sessions ("PyWebIO") and coroutine-based sessions ("PyWebIO (coroutine)", an
  `async def` app that PyWebIO runs on the event loop).
- PyWry (PyPI): its deploy mode (`get_server_app()` + `show()` + `deploy()`), as documented.

If a peer cannot be installed or started, the reason is recorded instead of failing the run.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import load
from .common import BENCH, Server, Skip, base_env, free_port, run_server, uvicorn_argv, wait_stable

VENV = BENCH / ".peers-venv"
PY = VENV / "bin" / "python"
# PyPI PyWry's show() builds an InlineWidget, which imports ipywidgets even in deploy mode
# ("IPython required for notebook display" otherwise): its `notebook` extra brings it.
REQUIREMENTS = {"PyWebIO": ["pywebio"], "PyWry (PyPI)": ["pywry[notebook]"]}
DISTRIBUTIONS = {"PyWebIO": "pywebio", "PyWry (PyPI)": "pywry"}


def _pip(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PY), "-m", "pip", "--disable-pip-version-check", "-q", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ensure(upgrade: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Create/upgrade the venv; returns ({peer: version}, {peer: why it is missing})."""
    failed: dict[str, str] = {}
    if not PY.exists():
        out = subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            reason = f"could not create {VENV}: {out.stderr.strip()[-300:]}"
            return {}, {peer: reason for peer in REQUIREMENTS}
        upgrade = True
    for peer, reqs in REQUIREMENTS.items():
        installed = _version(DISTRIBUTIONS[peer])
        if installed and not upgrade:
            continue
        try:
            out = _pip(["install", "--upgrade", *reqs], timeout=600)
        except subprocess.TimeoutExpired:
            failed[peer] = f"pip install {' '.join(reqs)} timed out after 600 s"
            continue
        if out.returncode != 0:
            tail = " ".join(line for line in out.stderr.splitlines() if "is ignored" not in line)
            failed[peer] = f"pip install {' '.join(reqs)} failed: {tail.strip()[-400:]}"
    versions = {}
    for peer in REQUIREMENTS:
        v = _version(DISTRIBUTIONS[peer])
        if v:
            versions[peer] = v
        else:
            failed.setdefault(peer, f"{DISTRIBUTIONS[peer]} is not importable in {VENV}")
    return versions, failed


def _version(dist: str) -> str | None:
    if not PY.exists():
        return None
    code = (
        "import importlib.metadata as m, json, sys\n"
        f"try: print(json.dumps(m.version({dist!r})))\n"
        "except m.PackageNotFoundError: print('null')"
    )
    out = subprocess.run([str(PY), "-c", code], capture_output=True, text=True, check=False)
    try:
        return json.loads(out.stdout.strip() or "null")  # type: ignore[no-any-return]
    except json.JSONDecodeError:
        return None


class Peer:
    """A peer framework: how to start it, and the protocol target that drives it."""

    name = "peer"
    distribution = "peer"  # the key of REQUIREMENTS it is installed by
    page_path = "/"
    in_page = True  # False when its page is the same bytes as another peer's (not measured twice)
    unsupported: dict[str, str] = {}

    def __init__(self, version: str) -> None:
        self.version = version

    def server(self, connections: int = 100) -> contextlib.AbstractContextManager[Server]:
        raise NotImplementedError

    def page_server(self) -> contextlib.AbstractContextManager[Server]:
        return self.server()

    def target(self, server: Server) -> load.Target:
        raise NotImplementedError


class PyWebIO(Peer):
    name = "PyWebIO"
    distribution = "PyWebIO"
    app = "bench.servers.peer_pywebio_app:app"
    log_name = "peer-pywebio"
    page_path = "/?app=index"
    unsupported = {
        "fanout": "no broadcast: every browser tab is its own session with its own output; an "
        "app would have to keep its own list of sessions and write to each",
    }

    @contextlib.contextmanager
    def server(self, connections: int = 100) -> Iterator[Server]:
        port = free_port()
        argv = uvicorn_argv(self.app, port, python=str(PY))
        with run_server(self.log_name, argv, base_env(), port, "/?app=index") as server:
            yield server

    def target(self, server: Server) -> load.Target:
        return load.PyWebIOTarget(server.url, name=self.name)


class PyWebIOCoroutine(PyWebIO):
    name = "PyWebIO (coroutine)"
    app = "bench.servers.peer_pywebio_app:coro_app"
    log_name = "peer-pywebio-coroutine"
    in_page = False  # the same index page as the thread-based app


class PyPIPyWry(Peer):
    name = "PyWry (PyPI)"
    distribution = "PyWry (PyPI)"
    page_path = "/widget/bench-0"
    unsupported = {
        "fanout": "keeps one WebSocket per widget: a second connection to a widget closes the "
        "first ('New connection replaced old one'), so 1,000 clients cannot share one widget",
    }

    @contextlib.contextmanager
    def server(self, connections: int = 100) -> Iterator[Server]:
        port = free_port()
        env = base_env(
            PYWRY_SERVER__HOST="127.0.0.1",
            PYWRY_SERVER__PORT=str(port),
            PYWRY_SERVER__LOG_LEVEL="warning",
            PYWRY_SERVER__ACCESS_LOG="false",
            PYWRY_DEPLOY_MODE="1",
            PYWRY_HEADLESS="1",
            BENCH_WIDGETS=str(connections),
        )
        argv = [str(PY), str(Path(__file__).parent / "servers" / "peer_pywry_app.py")]
        last = f"/widget/bench-{connections - 1}"
        name = f"peer-pypi-pywry-{connections}"
        with run_server(name, argv, env, port, last, timeout=180, need_200=True) as s:
            # show() starts an in-process server that deploy() stops before running uvicorn
            wait_stable(s, last, settle=2.0)
            yield s

    def target(self, server: Server) -> load.Target:
        return load.PeerPywryTarget(server.url)


def available(upgrade: bool) -> tuple[list[Peer], dict[str, Any]]:
    """The peers that can run here, and what to record about all of them."""
    versions, failed = ensure(upgrade)
    peers: list[Peer] = []
    for cls in (PyWebIO, PyWebIOCoroutine, PyPIPyWry):
        if cls.distribution in versions and cls.distribution not in failed:
            peers.append(cls(versions[cls.distribution]))
    info = {
        "venv": str(VENV.relative_to(BENCH.parent)),
        "versions": versions,
        "failed": failed,
        "unsupported": {p.name: dict(p.unsupported) for p in peers},
    }
    return peers, info


__all__ = ["Peer", "PyPIPyWry", "PyWebIO", "PyWebIOCoroutine", "Skip", "available"]
