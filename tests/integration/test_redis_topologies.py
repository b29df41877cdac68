"""The Redis backend on a real Sentinel group and a real 3-master Redis Cluster."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from pywry.config import PyWrySettings
from pywry.state.base import BackendUnavailable
from pywry.state.redis import RedisBackend
from tests.integration.test_backends import _noop, data, exercise
from tests.support import run_async

pytestmark = pytest.mark.integration


def topology_settings(group: Any, prefix: str, cluster: bool) -> PyWrySettings:
    return PyWrySettings(
        deploy={
            "redis_url": group.url,
            "redis_cluster": cluster,
            "redis_prefix": prefix,
            "widget_ttl": 100,
            "connection_ttl": 50,
        },
        server={"outbox_size": 5},
    )


@pytest.fixture(params=["sentinel", "cluster"])
def topology(request: pytest.FixtureRequest) -> tuple[Any, bool]:
    """(the running group, whether it is a cluster)."""
    name = request.param
    return request.getfixturevalue(f"redis_{name}"), name == "cluster"


def test_the_backend_works_the_same_on_sentinel_and_cluster(topology, tmp_path: Path) -> None:
    group, cluster = topology
    prefix = "t" + uuid.uuid4().hex[:6]
    run_async(exercise(RedisBackend(topology_settings(group, prefix, cluster), "worker-a")))


async def _widget_traffic(backend: RedisBackend, labels: list[str]) -> None:
    await backend.start(lambda *m: None, _noop, lambda *w: None)
    try:
        for label in labels:
            await backend.save_widget(data(label))
            page = f"{label}~c~client1"
            await backend.publish(
                [(label, "app:x", "{}", "seq", "m1"), (page, "app:y", "{}", "cseq", "m2")]
            )
            await backend.accept_event(label, "client1", 1)
            await backend.heartbeat({label: ["conn-1"]})
    finally:
        await backend.stop()


def test_every_key_of_a_widget_shares_one_cluster_slot(redis_cluster, tmp_path: Path) -> None:
    """Widgets land on different nodes, each widget's keys (its page streams too) on one slot;
    the keys spanning widgets are the documented few, and every key has a TTL."""
    prefix = "t" + uuid.uuid4().hex[:6]
    labels = [f"w{i}" for i in range(12)]
    backend = RedisBackend(topology_settings(redis_cluster, prefix, True), "worker-a")
    run_async(_widget_traffic(backend, labels))
    client: redis.RedisCluster = redis_cluster.client()
    try:
        keys = [k.decode() for k in client.keys(f"{prefix}:*", target_nodes=client.PRIMARIES)]
        assert all(client.ttl(k) > 0 for k in keys), {k: client.ttl(k) for k in keys}
        slots: dict[str, set[int]] = {}
        shared = []
        for key in keys:
            if "{" in key:
                label = key.split("{", 1)[1].split("}", 1)[0]
                slots.setdefault(label, set()).add(client.keyslot(key))
            else:
                shared.append(key)
        assert sorted(slots) == sorted(labels)
        assert all(len(s) == 1 for s in slots.values()), slots
        per_label = {lab: {k.split(":")[1] for k in keys if "{" + lab + "}" in k} for lab in labels}
        kinds = {"widget", "seq", "outbox", "outbox-bytes", "mids", "client", "conns"}
        assert per_label["w0"] == kinds
        assert sorted(shared) == [f"{prefix}:widgets:active", f"{prefix}:worker:worker-a"]
        nodes = {client.get_node_from_key("{" + lab + "}").name for lab in labels}
        assert len(nodes) == 3, "twelve widgets should spread over the three masters"
    finally:
        client.close()


async def _routing(settings: PyWrySettings) -> None:
    owner = RedisBackend(settings, "owner")
    other = RedisBackend(settings, "other")
    routed: list[dict[str, Any]] = []

    async def take(payload: dict[str, Any]) -> None:
        routed.append(payload)

    await owner.start(lambda *m: None, take, lambda *w: None)
    await other.start(lambda *m: None, _noop, lambda *w: None)
    try:
        # the client's record lives on its widget's node, the subscribers on the bus's node
        for label in ("a", "b", "c", "d", "e", "f"):
            assert await other.accept_and_route(label, "c1", 1, "owner", {"label": label}) == 1
            assert await other.accept_and_route(label, "c1", 1, "owner", {"label": label}) == -1
        assert await other.accept_and_route("a", "c1", 2, "gone-worker", {}) == 0
        assert await other.route("owner", {"kind": "reply"}) is True
        assert await other.route("gone-worker", {"kind": "reply"}) is False
        for _ in range(200):
            if len(routed) == 7:
                break
            await asyncio.sleep(0.01)
        assert [p.get("label") for p in routed] == ["a", "b", "c", "d", "e", "f", None]
    finally:
        await owner.stop()
        await other.stop()


def test_events_are_routed_to_their_owner(topology) -> None:
    """An owner that listens is counted wherever the widget's slot is; one that does not is
    reported gone (the page is told instead of waiting)."""
    group, cluster = topology
    run_async(_routing(topology_settings(group, "t" + uuid.uuid4().hex[:6], cluster)))


async def _follow(settings: PyWrySettings, fail_over: Any) -> None:
    owner = RedisBackend(settings, "owner")
    other = RedisBackend(settings, "other")
    await owner.start(lambda *m: None, _noop, lambda *w: None)
    await other.start(lambda *m: None, _noop, lambda *w: None)
    try:
        assert await other.route("owner", {}) is True
        await asyncio.to_thread(fail_over)
        for backend in (owner, other):  # each notices at a heartbeat, as every worker does
            with pytest.raises(BackendUnavailable, match="master moved"):
                for _ in range(100):
                    await backend.heartbeat({})
                    await asyncio.sleep(0.05)
            await backend.connect()  # what the engine's recovery does next
        assert await other.route("owner", {}) is True
        assert await other.accept_and_route("w", "c9", 1, "owner", {}) == 1
    finally:
        await owner.stop()
        await other.stop()


def test_a_subscription_follows_the_master_after_a_failover(topology) -> None:
    """A failover leaves subscriptions connected to the old master (a cluster replica still
    hears every message; an old Sentinel master stays writable for seconds), where routed
    events would no longer be counted: the heartbeat finds that out and the backend moves."""
    group, cluster = topology
    prefix = "t" + uuid.uuid4().hex[:6]
    if cluster:  # the master that holds the subscriptions
        master = group.master_of(f"{prefix}:bus")
        fail_over = lambda: group.fail_over(master)  # noqa: E731
    else:
        fail_over = lambda: group.switch_over(refuse_writes=False)  # noqa: E731
    run_async(_follow(topology_settings(group, prefix, cluster), fail_over))
