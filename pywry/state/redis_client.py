"""The redis-py client of one process: one server, a Sentinel group, or a Redis Cluster.

Built once per backend from `PYWRY_DEPLOY__REDIS_URL` and `PYWRY_DEPLOY__REDIS_CLUSTER`, with
redis-py's own clients: a blocking connection pool for one server, `Sentinel.master_for` (whose
pool asks the Sentinels where the master is on every new connection) for a Sentinel group, and
`RedisCluster` (one pool per node, following MOVED replies) for a cluster. Every command of the
process goes through it; at most `REDIS_POOL_SIZE` are in flight at once, so no pool runs dry.

What differs by mode lives here and nowhere else: dropping pooled connections after an outage,
where the subscription is made, where a routed event is published (in a cluster, PUBLISH counts
the subscribers of the node it is sent to, so it goes to the node that holds the subscriptions),
and telling that a subscription sits on a server that is no longer the master.

In a cluster the subscription has a connection of its own to its node: redis-py recycles every
pooled node connection whenever it refreshes the cluster's topology, and a recycled subscription
misses what is published meanwhile (which pywry must treat as an outage).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from ..config import DeploySettings
from ..redis_url import is_sentinel_url, parse_sentinel_url

_TIMEOUTS: Mapping[str, Any] = MappingProxyType(
    {"socket_connect_timeout": 2, "socket_timeout": 5, "health_check_interval": 10}
)


class RedisClient:
    """The one client (and pool) of a process, with the few operations that differ by mode."""

    def __init__(self, deploy: DeploySettings) -> None:
        url = deploy.redis_url
        size = max(2, deploy.redis_pool_size)
        self.cluster = deploy.redis_cluster
        self.sentinel: Sentinel | None = None
        self.service = ""
        self.pool: aioredis.ConnectionPool | None = None
        self.redis: Any  # aioredis.Redis or RedisCluster: the same commands
        self.listener: aioredis.Redis | None = None  # a cluster's subscription connection
        if self.cluster:
            # per node; the subscription has a connection of its own (see `subscription`)
            self.redis = RedisCluster.from_url(url, max_connections=size, **_TIMEOUTS)
        elif is_sentinel_url(url):
            target = parse_sentinel_url(url)
            self.service = target.service
            self.sentinel = Sentinel(
                list(target.sentinels),
                sentinel_kwargs={"socket_connect_timeout": 2, "socket_timeout": 2},
            )
            self.redis = self.sentinel.master_for(
                target.service,
                db=target.db,
                username=target.username,
                password=target.password,
                max_connections=size + 1,  # and the subscription's
                **_TIMEOUTS,
            )
            self.pool = self.redis.connection_pool
        else:
            self.pool = aioredis.BlockingConnectionPool.from_url(
                url, max_connections=size, timeout=5, **_TIMEOUTS
            )
            self.redis = aioredis.Redis(connection_pool=self.pool)
        self.in_flight = asyncio.Semaphore(deploy.redis_pool_size)

    async def drop_connections(self) -> None:
        """Close every pooled connection; a cluster learns its topology afresh on next use."""
        if self.pool is not None:
            await self.pool.disconnect()
        else:
            await self.redis.aclose()
        await self._drop_listener()

    async def _drop_listener(self) -> None:
        if self.listener is not None:
            listener, self.listener = self.listener, None
            await listener.aclose()

    async def subscription(self, anchor: str) -> PubSub:
        """A pub/sub connection; in a cluster on the master of `anchor`'s slot.

        Regular PUBLISH reaches every node of a cluster, so one node hears everything; every
        worker picks the same one, so that `publish_counted` can count its subscribers.
        """
        if not self.cluster:
            return self.redis.pubsub(ignore_subscribe_messages=True)
        await self._drop_listener()
        await self.redis.initialize()
        node: ClusterNode = self.redis.get_node_from_key(anchor)
        pool = aioredis.ConnectionPool(
            connection_class=node.connection_class, max_connections=2, **node.connection_kwargs
        )
        self.listener = aioredis.Redis(connection_pool=pool)
        if _first(await self.listener.execute_command("ROLE")) != "master":
            # this node learned of a failover before the one that told us the topology did
            raise RedisConnectionError(f"{node.name} is no master (yet); asking again")
        return self.listener.pubsub(ignore_subscribe_messages=True)

    async def publish_counted(self, anchor: str, channel: str, text: str) -> int:
        """PUBLISH, answering how many subscribers received it (see `subscription`)."""
        if not self.cluster:
            return int(await self.redis.publish(channel, text))
        node: ClusterNode = self.redis.get_node_from_key(anchor)
        return int(await self.redis.publish(channel, text, target_nodes=node))

    async def subscription_moved(self, pubsub: PubSub, anchor: str) -> bool:
        """True when `pubsub` listens on a server that is no longer the master.

        A failover leaves the old subscription connected (to a replica now, which still hears
        a cluster's messages, or to a Sentinel group's old master until it is demoted), so it
        has to be asked. Without an answer (Sentinels unreachable) nothing is known to move.
        """
        if self.listener is not None:
            await self.redis.initialize()
            node = self.redis.get_node_from_key(anchor)
            where = self.listener.connection_pool.connection_kwargs
            if (node.host, int(node.port)) != (where["host"], int(where["port"])):
                return True
            return _first(await self.listener.execute_command("ROLE")) != "master"
        if self.sentinel is None or pubsub.connection is None:
            return False
        try:
            host, port = await self.sentinel.discover_master(self.service)
        except RedisError:
            return False
        conn = pubsub.connection
        return (str(host), int(port)) != (str(conn.host), int(conn.port))

    async def close(self) -> None:
        """Release the pool (and the Sentinel clients)."""
        await self._drop_listener()
        await self.redis.aclose()
        if self.pool is not None:
            await self.pool.disconnect()
        if self.sentinel is not None:
            await self.sentinel.aclose()


def _first(role: Any) -> str:
    """The role name of a ROLE reply (bytes or text)."""
    name = role[0] if isinstance(role, list | tuple) and role else role
    return name.decode() if isinstance(name, bytes) else str(name)
