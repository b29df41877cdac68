"""Replicated Redis for the cross-worker scenario: a Sentinel group and a Redis Cluster, started
in the bench process on free loopback ports with Redis's own tools and always stopped after.

- Sentinel: one master, one replica, three Sentinels (quorum 2) watching them as `SERVICE`;
  pywry is given `redis+sentinel://` with every Sentinel;
- Cluster: three masters (no replicas: the bench measures the routing, not failover), made by
  `redis-cli --cluster create`; pywry is given one node's URL and `PYWRY_DEPLOY__REDIS_CLUSTER`.

Every wait polls a real condition, bounded in time; what cannot start raises `Skip` with why.
Imported only once redis-py is known to be installed.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import redis

from .common import LOGS, Server, Skip, free_port

SERVICE = "pywry-bench"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise Skip(f"{name} is not installed (apt-get install redis-server redis-tools)")
    return path


def _wait(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll `check` (errors count as "not yet") until it holds, else Skip naming `what`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError, KeyError, ValueError) as exc:
            last = exc
        time.sleep(0.05)
    raise Skip(f"{what} did not happen within {timeout:.0f}s ({last!r})")


def _client(port: int) -> redis.Redis:
    """A short-lived client (used in a `with`, so its socket is closed)."""
    return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=1, decode_responses=True)


def _ping(port: int) -> bool:
    with _client(port) as c:
        return bool(c.ping())


class _Group:
    """The redis-server processes of one group; `stop` ends every one that was started."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.folder = LOGS / name
        # fresh every run: a cluster node that finds the nodes.conf of a past run refuses to
        # join a new cluster ("is not empty")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.servers: list[Server] = []

    def start(self, tag: str, args: Sequence[str], conf: Path | None = None) -> int:
        port = free_port()
        folder = self.folder / tag
        folder.mkdir(parents=True, exist_ok=True)
        argv = [
            _binary("redis-server"),
            *([str(conf)] if conf else []),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(folder),
            *args,
        ]  # fmt: skip
        log_path = folder / "redis.log"
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.servers.append(Server(f"{self.name}-{tag}", proc, port, log_path))
        _wait(f"{self.name} {tag} to answer PING", lambda: _ping(port), 10)
        return port

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()


@contextlib.contextmanager
def sentinel_group(name: str = "crossworker-sentinel") -> Iterator[str]:
    """Yields the `redis+sentinel://` URL of a fresh group."""
    group = _Group(name)
    try:
        master = group.start("master", [])
        replica = group.start("replica", ["--replicaof", "127.0.0.1", str(master)])
        sentinels = []
        for i in range(3):
            folder = group.folder / f"sentinel{i}"
            folder.mkdir(parents=True, exist_ok=True)
            conf = folder / "sentinel.conf"  # a Sentinel rewrites its config: one file each
            conf.write_text(
                f"sentinel monitor {SERVICE} 127.0.0.1 {master} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 2000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
            )
            sentinels.append(group.start(f"sentinel{i}", ["--sentinel"], conf))

        def watched() -> bool:
            for port in sentinels:
                with _client(port) as c:
                    addr = c.sentinel_get_master_addr_by_name(SERVICE)
                if not addr or int(addr[1]) != master:
                    return False
            with _client(replica) as c:
                return bool(c.info("replication").get("master_link_status") == "up")

        _wait("the Sentinels to name the master and the replica to sync", watched)
        hosts = ",".join(f"127.0.0.1:{p}" for p in sentinels)
        yield f"redis+sentinel://{hosts}/{SERVICE}/0"
    finally:
        group.stop()


@contextlib.contextmanager
def cluster(name: str = "crossworker-cluster", masters: int = 3) -> Iterator[str]:
    """Yields a `redis://` URL of one node of a fresh cluster of `masters` masters."""
    cli = _binary("redis-cli")
    group = _Group(name)
    try:
        ports = [
            group.start(
                f"node{i}",
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-port",
                    str(free_port()),
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ],
            )  # fmt: skip
            for i in range(masters)
        ]
        out = subprocess.run(
            [cli, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            raise Skip(f"redis-cli --cluster create failed: {(out.stdout + out.stderr)[-400:]}")

        def healthy() -> bool:
            for port in ports:
                with _client(port) as c:
                    text = str(c.execute_command("CLUSTER", "INFO"))
                info = dict(line.split(":", 1) for line in text.split() if ":" in line)
                if info.get("cluster_state") != "ok" or info.get("cluster_size") != str(masters):
                    return False
            return True

        _wait(f"every node to see the cluster ok with {masters} masters", healthy)
        yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        group.stop()
