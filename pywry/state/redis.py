"""Redis backend: any number of workers and hosts share widgets, sequences and events.

Keys (all under `{prefix}`, all with a TTL):

| key | type | holds |
|---|---|---|
| `{prefix}:widget:{label}` | hash | token, content, title, head, kind, theme, owner, ... |
| `{prefix}:widgets:active` | set | labels of live widgets |
| `{prefix}:seq:{label}` | string | the widget's last sequence number |
| `{prefix}:outbox:{label}` | sorted set | encoded messages scored by seq (the newest ones) |
| `{prefix}:outbox-bytes:{label}` | string | their bytes (at most OUTBOX_MAX_BYTES) |
| `{prefix}:client:{label}:{client}` | string | highest event id handled for that browser client |
| `{prefix}:conns:{label}` | sorted set | connection ids scored by heartbeat expiry |
| `{prefix}:worker:{id}` | string | present while the worker sends heartbeats |
| `{prefix}:bus` | channel | every sequenced message (`label\\nseq\\ntext`) and deletions |
| `{prefix}:route:{worker}` | channel | events (and their replies) routed to one worker |

One connection pool per process (`REDIS_POOL_SIZE`), shared by every call; pub/sub holds one
connection of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

from redis import asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..config import PyWrySettings
from .base import Backend, BackendUnavailable, JsonObject, WidgetData

log = logging.getLogger("pywry.state.redis")
T = TypeVar("T")

_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
local text = '{"type":' .. ARGV[1] .. ',"data":' .. ARGV[2] .. ',"' .. ARGV[6] .. '":' .. seq .. '}'
redis.call('ZADD', KEYS[2], seq, text)
local kept = redis.call('INCRBY', KEYS[4], #text)
local keep, most = tonumber(ARGV[3]), tonumber(ARGV[7])
local n = redis.call('ZCARD', KEYS[2])
while n > 1 and (n > keep or (most > 0 and kept > most)) do
  local old = redis.call('ZPOPMIN', KEYS[2])
  kept = redis.call('DECRBY', KEYS[4], #old[1])
  n = n - 1
end
if kept < 0 then kept = redis.call('INCRBY', KEYS[4], -kept) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[4], ARGV[4])
redis.call('PUBLISH', KEYS[3], ARGV[5] .. '\\n' .. seq .. '\\n' .. text)
return seq
"""

_SAVE = """
local token = redis.call('HGET', KEYS[1], 'token')
if not token then token = ARGV[1] end
redis.call('HSET', KEYS[1], 'token', token, 'content', ARGV[2], 'title', ARGV[3],
  'head', ARGV[4], 'kind', ARGV[5], 'theme', ARGV[6], 'per_visitor', ARGV[7], 'owner', ARGV[8],
  'rules', ARGV[14])
if ARGV[13] ~= '' then redis.call('HSETNX', KEYS[1], 'session', ARGV[13]) end
redis.call('HSETNX', KEYS[1], 'created', ARGV[11])
redis.call('EXPIRE', KEYS[1], ARGV[9])
redis.call('SADD', KEYS[2], ARGV[10])
redis.call('EXPIRE', KEYS[2], ARGV[9])
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[12]) > seq then
  seq = tonumber(ARGV[12])
  redis.call('SET', KEYS[3], ARGV[12], 'EX', ARGV[9])
end
return {token, seq}
"""

_ACCEPT = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

_ACCEPT_ROUTE = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= last then return -1 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if redis.call('PUBLISH', KEYS[2], ARGV[3]) > 0 then return 1 end
return 0
"""

_SINCE = """
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local after = tonumber(ARGV[1])
if after == seq then return {seq} end
if after > seq then return {-1} end
if (#first == 0) or (after + 1 < tonumber(first[2])) then return {-1} end
local out = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
table.insert(out, 1, seq)
return out
"""

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisBackend(Backend):
    """Shared state in Redis, with pub/sub for fan-out and routing."""

    name = "redis"

    def __init__(self, settings: PyWrySettings, worker_id: str) -> None:
        super().__init__(settings, worker_id)
        deploy = settings.deploy
        self.prefix = deploy.redis_prefix
        self.pool = aioredis.BlockingConnectionPool.from_url(
            deploy.redis_url,
            max_connections=max(2, deploy.redis_pool_size),
            timeout=5,
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=10,
        )
        self.redis = aioredis.Redis(connection_pool=self.pool, decode_responses=False)
        self._publish = self.redis.register_script(_PUBLISH)
        self._save = self.redis.register_script(_SAVE)
        self._accept = self.redis.register_script(_ACCEPT)
        self._since = self.redis.register_script(_SINCE)
        self._accept_route = self.redis.register_script(_ACCEPT_ROUTE)
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self.widget_ttl = int(deploy.widget_ttl)
        self.client_ttl = int(max(deploy.connection_ttl, settings.server.reconnect_timeout * 2))
        self.conn_ttl = int(deploy.connection_ttl)
        self.outbox_size = int(settings.server.outbox_size)
        self.outbox_max_bytes = int(settings.server.outbox_max_bytes)

    def k(self, *parts: str) -> str:
        """A key under this app's prefix."""
        return ":".join((self.prefix, *parts))

    async def _call(self, coro: Awaitable[T]) -> T:
        """Await a Redis call; a lost connection becomes BackendUnavailable."""
        try:
            return await coro
        except _UNAVAILABLE as exc:
            raise BackendUnavailable(f"Redis: {exc}") from None

    # -- lifecycle -----------------------------------------------------------------------------
    async def connect(self) -> None:
        """Subscribe to the bus and this worker's routing channel.

        Pooled connections are dropped first: after an outage every one of them is dead, and the
        first command on each would fail (and start another outage) once Redis is back.
        """
        await self.stop_listener()
        await self.redis.connection_pool.disconnect()
        self._publish.sha = await self._call(self.redis.script_load(_PUBLISH))
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await self._call(pubsub.subscribe(self.k("bus"), self.k("route", self.worker_id)))
        self._pubsub = pubsub
        self._listener = asyncio.get_running_loop().create_task(self._listen(pubsub))

    async def _listen(self, pubsub: PubSub) -> None:
        bus = self.k("bus").encode()
        while True:
            try:
                msg = await pubsub.get_message(timeout=1.0)
            except _UNAVAILABLE as exc:
                self.broken = exc
                return
            except RedisError as exc:  # pragma: no cover - protocol hiccup
                log.warning("redis pub/sub error: %s", exc)
                continue
            if msg is None or msg.get("type") != "message":
                continue
            data: bytes = msg["data"]
            if msg["channel"] == bus:
                label, _, rest = data.partition(b"\n")
                if label in (b"\x00del", b"\x00upd"):
                    name, _, worker = rest.decode().partition("\n")
                    self.on_widget(name, "deleted" if label == b"\x00del" else "updated", worker)
                    continue
                seq, _, text = rest.partition(b"\n")
                self.on_message(label.decode(), int(seq), text.decode())
            else:
                await self.deliver_routed(data)

    broken: BaseException | None = None

    def listening(self) -> bool:
        """False once the subscription broke (Redis went away)."""
        return self._listener is not None and not self._listener.done()

    async def stop_listener(self) -> None:
        """Drop the subscription (before a resubscribe or at stop)."""
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None
        if self._pubsub is not None:
            try:
                await self._pubsub.aclose()
            except Exception:  # noqa: BLE001
                pass
            self._pubsub = None

    async def stop(self) -> None:
        """Close the pub/sub connection and the pool."""
        await self.stop_listener()
        try:
            await self.redis.aclose()
            await self.pool.disconnect()
        except Exception:  # noqa: BLE001
            pass

    async def ping(self) -> None:
        """Raise BackendUnavailable unless Redis answers."""
        await self._call(self.redis.ping())

    # -- widgets -------------------------------------------------------------------------------
    async def save_widget(self, data: WidgetData) -> tuple[str, int]:
        """Create or refresh a widget; the first token stored wins (all workers adopt it)."""
        label = data.label
        ttl = self.conn_ttl if data.per_visitor else self.widget_ttl
        token, seq = await self._call(
            self._save(
                keys=[self.k("widget", label), self.k("widgets", "active"), self.k("seq", label)],
                args=[
                    data.token,
                    data.content,
                    data.title,
                    data.head,
                    data.kind,
                    data.theme,
                    "1" if data.per_visitor else "0",
                    data.owner,
                    max(ttl, 1),
                    label,
                    time.time(),
                    data.seq,
                    data.session,
                    data.rules,
                ],
            )
        )
        return token.decode() if isinstance(token, bytes) else str(token), int(seq)

    async def load_widget(self, label: str) -> WidgetData | None:
        """The stored widget, or None."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.k("widget", label))
        pipe.get(self.k("seq", label))
        raw, seq = await self._call(pipe.execute())
        if not raw or b"token" not in raw:
            return None
        f = {k.decode(): v.decode() for k, v in raw.items()}
        return WidgetData(
            label=label,
            token=f["token"],
            content=f.get("content", ""),
            title=f.get("title", "PyWry"),
            head=f.get("head", ""),
            kind=f.get("kind", "html"),
            theme=f.get("theme", ""),
            per_visitor=f.get("per_visitor") == "1",
            owner=f.get("owner", ""),
            seq=int(seq or 0),
            session=f.get("session", ""),
            rules=f.get("rules", ""),
        )

    async def update_widget(self, label: str, **fields: str) -> None:
        """Change stored fields of a live widget."""
        if fields:
            key = self.k("widget", label)
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(key, mapping={k: str(v) for k, v in fields.items()})
            pipe.expire(key, self.widget_ttl)
            pipe.publish(self.k("bus"), f"\x00upd\n{label}\n{self.worker_id}".encode())
            await self._call(pipe.execute())

    async def delete_widget(self, label: str) -> None:
        """Remove every key of a widget and tell the other workers."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(
            self.k("widget", label),
            self.k("seq", label),
            self.k("outbox", label),
            self.k("outbox-bytes", label),
            self.k("conns", label),
        )
        pipe.srem(self.k("widgets", "active"), label)
        pipe.publish(self.k("bus"), f"\x00del\n{label}\n{self.worker_id}".encode())
        await self._call(pipe.execute())

    # -- messages ------------------------------------------------------------------------------
    async def publish(self, items: list[tuple[str, str, str, str]]) -> list[int]:
        """Sequence, store and broadcast messages in one round trip.

        A pipeline of EVALSHA calls, without redis-py's per-pipeline SCRIPT EXISTS check (that
        would be a second round trip on every emit); a script cache lost in a Redis restart is
        reloaded on NOSCRIPT and the batch retried.
        """
        bus = self.k("bus")
        for attempt in (1, 2):
            pipe = self.redis.pipeline(transaction=False)
            for label, kind, data_json, field in items:
                pipe.evalsha(
                    self._publish.sha,
                    4,
                    self.k("seq", label),
                    self.k("outbox", label),
                    bus,
                    self.k("outbox-bytes", label),
                    json.dumps(kind),
                    data_json,
                    self.outbox_size,
                    self.widget_ttl if field == "seq" else self.stream_ttl,
                    label,
                    field,
                    self.outbox_max_bytes,
                )
            try:
                return [int(s) for s in await self._call(pipe.execute())]
            except NoScriptError:
                if attempt == 2:
                    raise
                self._publish.sha = await self._call(self.redis.script_load(_PUBLISH))
        raise AssertionError("unreachable")

    async def stream_head(self, key: str) -> int:
        """The last seq of a page's or session's stream (0 for none)."""
        return int(await self._call(self.redis.get(self.k("seq", key))) or 0)

    async def load_session(self, sid: str) -> str | None:
        """The stored text of session `sid`, or None."""
        raw = await self._call(self.redis.get(self.k("session", sid)))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def save_session(self, sid: str, text: str, ttl: int) -> None:
        """Store session `sid` for `ttl` seconds."""
        await self._call(self.redis.set(self.k("session", sid), text, ex=ttl))

    async def since(self, label: str, after: int) -> list[str] | None:
        """Stored messages after `after`, or None for a gap."""
        out = await self._call(
            self._since(keys=[self.k("outbox", label), self.k("seq", label)], args=[after])
        )
        if not out or int(out[0]) < 0:
            return None
        return [t.decode() if isinstance(t, bytes) else t for t in out[1:]]

    # -- events --------------------------------------------------------------------------------
    async def accept_event(self, label: str, client: str, ident: int) -> bool:
        """Atomic check-and-set of the client's highest handled event id."""
        fresh = await self._call(
            self._accept(keys=[self.k("client", label, client)], args=[ident, self.client_ttl])
        )
        return bool(int(fresh))

    async def accept_and_route(
        self, label: str, client: str, ident: int, worker: str, payload: JsonObject
    ) -> int:
        """De-duplicate and publish to the owner in one round trip."""
        result = await self._call(
            self._accept_route(
                keys=[self.k("client", label, client), self.k("route", worker)],
                args=[ident, self.client_ttl, json.dumps(payload)],
            )
        )
        return int(result)

    async def route(self, worker: str, payload: JsonObject) -> bool:
        """Publish an event or reply on the worker's routing channel; False if none listens."""
        receivers = await self._call(
            self.redis.publish(self.k("route", worker), json.dumps(payload))
        )
        return int(receivers) > 0

    # -- liveness ------------------------------------------------------------------------------
    async def heartbeat(self, connections: dict[str, list[str]]) -> None:
        """Refresh this worker's key and the expiry of its connections."""
        now = time.time()
        expiry = now + self.conn_ttl
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.k("worker", self.worker_id), now, ex=max(3, int(self.heartbeat_ttl)))
        for label, ids in connections.items():
            key = self.k("conns", label)
            if ids:
                pipe.zadd(key, {i: expiry for i in ids})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.expire(key, self.conn_ttl)
            pipe.hset(self.k("widget", label), "last_seen", now)
            pipe.expire(self.k("widget", label), self.widget_ttl)
        await self._call(pipe.execute())

    heartbeat_ttl: float = 6.0

    async def worker_alive(self, worker: str) -> bool:
        """True while the worker's heartbeat key exists."""
        return bool(await self._call(self.redis.exists(self.k("worker", worker))))

    async def presence(self, label: str) -> tuple[int, float | None]:
        """Live connections on any worker, and when the widget was last seen in use."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(self.k("conns", label), now, "+inf")
        pipe.hget(self.k("widget", label), "last_seen")
        count, seen = await self._call(pipe.execute())
        return int(count), float(seen) if seen else None

    async def connection_closed(self, label: str, conn_id: str) -> None:
        """Forget a connection and note when the widget was last in use."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(self.k("conns", label), conn_id)
        pipe.hset(self.k("widget", label), "last_seen", time.time())
        pipe.expire(self.k("widget", label), self.widget_ttl)
        await self._call(pipe.execute())
