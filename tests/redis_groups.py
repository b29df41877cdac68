"""Real replicated Redis for the tests: a 3-master Redis Cluster and a Sentinel group.

Both run on free loopback ports, are made with Redis's own tools (`redis-cli --cluster create`,
`redis-server --sentinel`), can fail their master over while traffic runs, and are stopped
afterwards. Every wait polls a real condition, bounded in time.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.redis_server import RedisServer
from tests.support import free_port, require_binary

SERVICE = "pywry-test"


def wait_for(
    what: str, check: Callable[[], bool], timeout: float = 30.0, why: Callable[[], str] = str
) -> None:
    """Poll `check` (errors count as "not yet") until it holds, or fail naming `what` and
    what `why()` says was last seen."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.05)
    raise TimeoutError(f"{what} within {timeout}s (last seen: {why() or last})")


def info(port: int, section: str) -> dict[str, str]:
    """`INFO section` of the server on `port`, as text fields."""
    client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
    try:
        return {k: str(v) for k, v in client.info(section).items()}
    finally:
        client.close()


class ClusterGroup:
    """Three masters with one replica each, all on 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.nodes: list[RedisServer] = []

    @property
    def url(self) -> str:
        """The URL pywry is given: any one node (it finds the others)."""
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> ClusterGroup:
        cli = require_binary("redis-cli", "apt-get install redis-tools")
        for i in range(6):
            args = [
                "--cluster-enabled", "yes",
                "--cluster-port", str(free_port()),
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000",
            ]  # fmt: skip
            self.nodes.append(RedisServer(self.folder / f"node{i}", args=args).start())
        out = subprocess.run(
            [cli, "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in self.nodes],
             "--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {out.stdout}{out.stderr}")
        wait_for("every node to see the cluster ok with 3 masters", self._healthy)
        return self

    def _healthy(self) -> bool:
        for node in self.nodes:
            cluster = info_cluster(node.port)
            if cluster.get("cluster_state") != "ok" or cluster.get("cluster_size") != "3":
                return False
        return all(info(port, "replication").get("master_link_status") == "up"
                   for port in self.replica_ports())  # fmt: skip

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.nodes[0].port, socket_timeout=5)

    def replica_ports(self) -> list[int]:
        return [n.port for n in self.nodes if info(n.port, "replication")["role"] == "slave"]

    def master_of(self, key: str) -> int:
        """The port of the master that holds `key`'s slot now."""
        client = self.client()
        try:
            node = client.get_node_from_key(key)
            assert node is not None
            return int(node.port)
        finally:
            client.close()

    def fail_over(self, master_port: int) -> int:
        """CLUSTER FAILOVER on a replica of `master_port`; returns the new master's port once
        every node agrees."""
        replica = next(
            port
            for port in self.replica_ports()
            if int(info(port, "replication")["master_port"]) == master_port
        )
        redis.Redis(port=replica, socket_timeout=5).execute_command("CLUSTER", "FAILOVER")

        def switched() -> bool:
            return (
                info(replica, "replication")["role"] == "master"
                and info(master_port, "replication").get("master_port") == str(replica)
                and self._healthy()
            )

        wait_for("the replica to take over", switched)
        return replica

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def info_cluster(port: int) -> dict[str, str]:
    """`CLUSTER INFO` of one node."""
    client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
    try:
        text = str(client.execute_command("CLUSTER", "INFO"))
    finally:
        client.close()
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


class SentinelGroup:
    """One master, one replica and three Sentinels (quorum 2) watching them as `SERVICE`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.master: RedisServer | None = None
        self.replica: RedisServer | None = None
        self.seen = ""  # what `_watched` saw last (a timeout says it)
        self.sentinels: list[RedisServer] = []

    @property
    def url(self) -> str:
        """The URL pywry is given: every Sentinel, the service name."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> SentinelGroup:
        self.master = RedisServer(self.folder / "master").start()
        self.replica = RedisServer(
            self.folder / "replica", args=["--replicaof", "127.0.0.1", str(self.master.port)]
        ).start()
        for i in range(3):
            folder = self.folder / f"sentinel{i}"
            folder.mkdir(parents=True, exist_ok=True)
            conf = folder / "sentinel.conf"
            conf.write_text(
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self.sentinels.append(RedisServer(folder, args=["--sentinel"], conf=conf).start())
        wait_for("the Sentinels to know the replica and each other", self._watched)
        return self

    def _sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2, decode_responses=True)

    def master_port(self) -> int:
        """Where the Sentinels say the master is."""
        addr = self._sentinel(self.sentinels[0].port).sentinel_get_master_addr_by_name(SERVICE)
        return int(addr[1])

    def _watched(self) -> bool:
        assert self.master is not None and self.replica is not None
        self.seen = ""
        for s in self.sentinels:
            sentinel = self._sentinel(s.port)
            state = sentinel.sentinel_master(SERVICE)
            replicas = {int(r["port"]): r["flags"] for r in sentinel.sentinel_slaves(SERVICE)}
            self.seen = (
                f"sentinel {s.port}: master {state['port']} flags {state['flags']}, "
                f"{state['num-other-sentinels']} other sentinels, replicas {replicas}"
            )
            if state["flags"] != "master" or int(state["port"]) != self.master.port:
                return False
            if int(state["num-other-sentinels"]) < 2:
                return False
            if replicas.get(self.replica.port) != "slave":
                return False
        link = info(self.replica.port, "replication").get("master_link_status")
        self.seen = f"replica {self.replica.port} master_link_status {link}"
        return link == "up"

    def kill_master(self) -> int:
        """SIGKILL the master; returns the new master's port once every Sentinel names it."""
        assert self.master is not None and self.replica is not None
        old = self.master.port
        self.master.kill()
        new = self.replica.port

        def promoted() -> bool:
            return info(new, "replication")["role"] == "master" and all(
                int(self._sentinel(s.port).sentinel_get_master_addr_by_name(SERVICE)[1]) == new
                for s in self.sentinels
            )

        wait_for("the Sentinels to promote the replica", promoted)
        # the old master comes back as a replica of the new one: the group has its shape again
        self.master, self.replica = (
            self.replica,
            RedisServer(
                self.folder / "master", args=["--replicaof", "127.0.0.1", str(new)], port=old
            ).start(),
        )
        wait_for("the old master to rejoin as a replica", self._watched, 60, lambda: self.seen)
        return new

    def switch_over(self, refuse_writes: bool = True) -> int:
        """A planned switch: SENTINEL FAILOVER, the master set to refuse writes once its replica
        leaves (`min-replicas-to-write 1`, what a production group has) unless told not to;
        returns the new master's port once every Sentinel names it, and makes the old master
        its replica."""
        assert self.master is not None and self.replica is not None
        old, new = self.master, self.replica
        if refuse_writes:
            redis.Redis(port=old.port).config_set("min-replicas-to-write", 1)
        self._sentinel(self.sentinels[0].port).execute_command("SENTINEL", "FAILOVER", SERVICE)

        def switched() -> bool:
            return all(
                int(self._sentinel(s.port).sentinel_get_master_addr_by_name(SERVICE)[1]) == new.port
                for s in self.sentinels
            )

        wait_for("the Sentinels to switch to the replica", switched)
        # what the Sentinels do some seconds later, done now: the old master follows the new
        demoted = redis.Redis(port=old.port)
        demoted.replicaof("127.0.0.1", new.port)
        demoted.config_set("min-replicas-to-write", 0)
        self.master, self.replica = new, old
        wait_for("the old master to rejoin as a replica", self._watched, 60, lambda: self.seen)
        return new.port

    def stop(self) -> None:
        for server in (*self.sentinels, self.replica, self.master):
            if server is not None:
                server.stop()
