"""Redis backend: any number of workers and hosts share widgets, sequences and events.

Keys (all under `P` = `REDIS_PREFIX`, all with a TTL). Every key of one widget carries its
label as a hash tag (`{L}`, literal braces), so in a Redis Cluster they share one slot and each
script touches one slot only; keys that span widgets are only ever used one command at a time:

| key | type | holds |
|---|---|---|
| `P:widget:{L}` | hash | token, content, title, head, kind, theme, owner, ... |
| `P:widgets:active` | set | labels of live widgets |
| `P:seq:{L}` | string | the widget's last sequence number |
| `P:outbox:{L}` | sorted set | encoded messages scored by seq (the newest; bounded in bytes) |
| `P:outbox-bytes:{L}` | string | their bytes |
| `P:mids:{L}` | sorted set | ids of the newest messages (a retried publish is stored once) |
| `P:seq:{L}~c~C`, `P:outbox:{L}~c~C` (`~s~S`) | as above | one page's (one session's) stream |
| `P:client:{L}:C` | string | which event ids of that browser client were handled |
| `P:conns:{L}` | sorted set | connection ids scored by heartbeat expiry |
| `P:session:S` | string | a session's values |
| `P:worker:W` | string | present while the worker sends heartbeats |
| `P:bus` | channel | every sequenced message (`label\\nseq\\ntext`) and deletions |
| `P:route:W` | channel | events (and their replies) routed to one worker |

Channels are never script keys: scripts get them as arguments. One client per process
(`pywry.state.redis_client`: one server, Sentinel or Cluster), shared by every call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis.asyncio.client import PubSub
from redis.commands.core import AsyncScript
from redis.exceptions import (
    ClusterError,
    NoScriptError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..config import PyWrySettings
from ..core import protocol as p
from ..redis_url import mask_password
from . import dedup
from .base import Backend, BackendUnavailable, JsonObject, Outgoing, WidgetData
from .dedup import WINDOW
from .redis_client import RedisClient

log = logging.getLogger("pywry.state.redis")
T = TypeVar("T")

_PUBLISH = """
local done = redis.call('ZSCORE', KEYS[3], ARGV[7])
if done then return tonumber(done) end
local seq = redis.call('INCR', KEYS[1])
local text = '{"type":' .. ARGV[1] .. ',"data":' .. ARGV[2] .. ',"' .. ARGV[6] .. '":' .. seq .. '}'
redis.call('ZADD', KEYS[2], seq, text)
local kept = redis.call('INCRBY', KEYS[4], #text)
local keep, most = tonumber(ARGV[3]), tonumber(ARGV[9])
local n = redis.call('ZCARD', KEYS[2])
while n > 1 and (n > keep or (most > 0 and kept > most)) do
  local old = redis.call('ZPOPMIN', KEYS[2])
  kept = redis.call('DECRBY', KEYS[4], #old[1])
  n = n - 1
end
if kept < 0 then kept = redis.call('INCRBY', KEYS[4], -kept) end
redis.call('ZADD', KEYS[3], seq, ARGV[7])
n = redis.call('ZCARD', KEYS[3])
if n > keep then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - keep - 1) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('EXPIRE', KEYS[4], ARGV[4])
redis.call('PUBLISH', ARGV[8], ARGV[5] .. '\\n' .. seq .. '\\n' .. text)
return seq
"""

_RAISE = """
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > seq then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 0
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
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[12]) > seq then
  seq = tonumber(ARGV[12])
  redis.call('SET', KEYS[2], ARGV[12], 'EX', ARGV[9])
end
return {token, seq}
"""

# Which event ids of a client were handled (pywry.state.dedup, the same rules): the value is
# "floor" or "floor,id,id,..."; ids folding into the floor keep the usual record one number.
# After it, "|id@attempt" marks: each worker's newest event taken under a named attempt (a
# worker's later event replaces its own mark only, so another worker's traffic for the same
# page cannot erase the proof that an attempt whose answer an outage lost took its event).
_ADMIT = """
local function admit(key, id, ttl, window, attempt)
  local floor, seen, marks = 0, {}, ''
  local raw = redis.call('GET', key)
  if raw then
    local bar = string.find(raw, '|', 1, true)
    local record = raw
    if bar then record = string.sub(raw, 1, bar - 1); marks = string.sub(raw, bar) end
    local first = true
    for part in string.gmatch(record, '[^,]+') do
      if first then floor = tonumber(part); first = false else seen[#seen + 1] = tonumber(part) end
    end
  end
  if id <= floor then return false end
  for i = 1, #seen do if seen[i] == id then return false end end
  seen[#seen + 1] = id
  table.sort(seen)
  while #seen > 0 and seen[1] == floor + 1 do floor = table.remove(seen, 1) end
  while #seen > window do floor = table.remove(seen, 1) end
  local out = string.format('%d', floor)
  for i = 1, #seen do out = out .. ',' .. string.format('%d', seen[i]) end
  if attempt ~= '' then
    local taker = string.match(attempt, '^(.*)%.') or attempt
    local kept, n = '', 1
    for mark in string.gmatch(marks, '[^|]+') do
      if n < MARKS and string.match(mark, '^%d+@(.*)%.') ~= taker then
        kept = kept .. '|' .. mark
        n = n + 1
      end
    end
    marks = '|' .. string.format('%d', id) .. '@' .. attempt .. kept
  end
  redis.call('SET', key, out .. marks, 'EX', ttl)
  return true
end
""".replace("MARKS", str(dedup.MARKS))

_ACCEPT = (
    _ADMIT
    + """
if admit(KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]) then return 1 end
return 0
"""
)

_ACCEPT_ROUTE = (
    _ADMIT
    + """
if not admit(KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4]), '') then return -1 end
if redis.call('PUBLISH', ARGV[5], ARGV[3]) > 0 then return 1 end
return 0
"""
)

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

# Redis (or the master, or a cluster slot) cannot be reached now; a cluster that is failing over
# answers CLUSTERDOWN / TRYAGAIN for a moment, a demoted master READONLY.
_UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    ClusterError,
    TryAgainError,
    SlotNotCoveredError,
    ReadOnlyError,
)
# A master that lost its replicas refuses writes (`min-replicas-to-write`): after a Sentinel
# switch-over the old one does, until it is demoted; the new master is where to write.
_NOT_WRITABLE = "NOREPLICAS"


class RedisBackend(Backend):
    """Shared state in Redis, with pub/sub for fan-out and routing."""

    name = "redis"
    setting = "PYWRY_DEPLOY__REDIS_URL"

    def __init__(self, settings: PyWrySettings, worker_id: str) -> None:
        super().__init__(settings, worker_id)
        deploy = settings.deploy
        self.prefix = deploy.redis_prefix
        self.client = RedisClient(deploy)
        self.pool = self.client.pool  # None in a cluster: one pool per node
        self.redis = self.client.redis
        self._publish = self.redis.register_script(_PUBLISH)
        self._save = self.redis.register_script(_SAVE)
        self._raise = self.redis.register_script(_RAISE)
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

    def where(self) -> str:
        """The Redis URL, its password masked."""
        return mask_password(self.settings.deploy.redis_url)

    def k(self, *parts: str) -> str:
        """A key under this app's prefix that belongs to no one widget."""
        return ":".join((self.prefix, *parts))

    def w(self, kind: str, key: str, *rest: str) -> str:
        """A key of one widget: `key` (a label, or a page's or session's stream key
        `label~c~client`) with its label as the hash tag, `P:kind:{label}~c~client:rest`."""
        label, tilde, stream = key.partition("~")
        return ":".join((self.prefix, kind, f"{{{label}}}{tilde}{stream}", *rest))

    async def _call(self, coro: Awaitable[T]) -> T:
        """Await a Redis call (at most REDIS_POOL_SIZE at once); a lost server is
        BackendUnavailable."""
        try:
            async with self.client.in_flight:
                return await coro
        except _UNAVAILABLE as exc:
            raise BackendUnavailable(f"Redis: {exc}") from None
        except ResponseError as exc:
            if _NOT_WRITABLE in str(exc):
                raise BackendUnavailable(f"Redis: {exc}") from None
            raise

    # -- lifecycle -----------------------------------------------------------------------------
    async def connect(self) -> None:
        """Subscribe to the bus and this worker's routing channel.

        Pooled connections are dropped first: after an outage every one of them is dead, and the
        first command on each would fail (and start another outage) once Redis is back.
        """
        await self.stop_listener()
        await self.client.drop_connections()
        self._publish.sha = await self._call(self.redis.script_load(_PUBLISH))
        pubsub = await self._call(self.client.subscription(self.k("bus")))
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
            await self.client.close()
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
                keys=[self.w("widget", label), self.w("seq", label)],
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
        active = self.k("widgets", "active")  # every widget's: never in a widget's script
        pipe = self.redis.pipeline(transaction=False)
        pipe.sadd(active, label)
        pipe.expire(active, max(ttl, 1))
        await self._call(pipe.execute())
        return token.decode() if isinstance(token, bytes) else str(token), int(seq)

    async def load_widget(self, label: str) -> WidgetData | None:
        """The stored widget, or None."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.w("widget", label))
        pipe.get(self.w("seq", label))
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
            key = self.w("widget", label)
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(key, mapping={k: str(v) for k, v in fields.items()})
            pipe.expire(key, self.widget_ttl)
            await self._call(pipe.execute())
            await self._broadcast(f"\x00upd\n{label}\n{self.worker_id}")

    async def delete_widget(self, label: str) -> None:
        """Remove every key of a widget and tell the other workers."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(
            self.w("widget", label),
            self.w("seq", label),
            self.w("outbox", label),
            self.w("outbox-bytes", label),
            self.w("conns", label),
        )
        pipe.srem(self.k("widgets", "active"), label)
        await self._call(pipe.execute())
        await self._broadcast(f"\x00del\n{label}\n{self.worker_id}")

    async def _broadcast(self, text: str) -> None:
        """Tell every worker about a widget change (on its own: a cluster pipeline has no
        PUBLISH)."""
        await self._call(self.redis.publish(self.k("bus"), text.encode()))

    # -- messages ------------------------------------------------------------------------------
    async def publish(self, items: list[Outgoing]) -> list[int]:
        """Sequence, store and broadcast messages in one round trip.

        A pipeline of EVALSHA calls, without redis-py's per-pipeline SCRIPT EXISTS check (that
        would be a second round trip on every emit); a script cache lost in a Redis restart is
        reloaded on NOSCRIPT and the batch retried. The ids of the newest messages are kept
        beside the outbox, so a batch retried after its write landed is not stored twice. A
        cluster pipeline sends each node its part and takes no EVALSHA (a node promoted by a
        failover may lack the script, and only its part would fail): there the script travels
        with every call.
        """
        bus = self.k("bus")
        for attempt in (1, 2):
            cluster = self.client.cluster
            script = _PUBLISH if cluster else self._publish.sha
            calls = [
                (
                    "EVAL" if cluster else "EVALSHA",
                    script,
                    4,
                    self.w("seq", label),
                    self.w("outbox", label),
                    self.w("mids", label),
                    self.w("outbox-bytes", label),
                    json.dumps(kind),
                    data_json,
                    self.outbox_size,
                    self.widget_ttl if field == "seq" else self.stream_ttl,
                    label,
                    field,
                    mid,
                    bus,
                    self.outbox_max_bytes,
                )
                for label, kind, data_json, field, mid in items
            ]
            try:
                if len(calls) == 1 and not cluster:  # the usual batch: no pipeline to build
                    return [int(await self._call(self.redis.execute_command(*calls[0])))]
                pipe = self.redis.pipeline(transaction=False)
                for call in calls:
                    pipe.execute_command(*call)
                return [int(s) for s in await self._call(pipe.execute())]
            except NoScriptError:
                if attempt == 2:
                    raise
                self._publish.sha = await self._call(self.redis.script_load(_PUBLISH))
        raise AssertionError("unreachable")

    async def restore_heads(self, heads: list[tuple[str, int]]) -> None:
        """Raise page/session stream seqs that a Redis restart without persistence reset."""
        for key, seq in heads:
            await self._call(self._raise(keys=[self.w("seq", key)], args=[seq, self.stream_ttl]))

    async def stream_head(self, key: str) -> int:
        """The last seq of a page's or session's stream (0 for none)."""
        return int(await self._call(self.redis.get(self.w("seq", key))) or 0)

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
            self._since(keys=[self.w("outbox", label), self.w("seq", label)], args=[after])
        )
        if not out or int(out[0]) < 0:
            return None
        return [t.decode() if isinstance(t, bytes) else t for t in out[1:]]

    # -- events --------------------------------------------------------------------------------
    async def accept_event(self, label: str, client: str, ident: int, attempt: str = "") -> bool:
        """Atomic check-and-set of the client's handled event ids (`pywry.state.dedup`); the
        record also names the `attempt` that took the newest one."""
        fresh = await self._call(
            self._accept(
                keys=[self.w("client", label, client)],
                args=[ident, self.client_ttl, WINDOW, attempt],
            )
        )
        return bool(int(fresh))

    async def accepted_by(self, label: str, client: str, ident: int, attempt: str) -> bool:
        """Whether event `ident` was taken by `attempt` (its answer was lost in an outage)."""
        raw = await self._call(self.redis.get(self.w("client", label, client)))
        return dedup.took(raw, ident, attempt)

    async def accept_and_route(
        self, label: str, client: str, ident: int, worker: str, payload: JsonObject
    ) -> int:
        """De-duplicate and publish to the owner in one round trip.

        Not in a cluster: the script runs on the node of the widget's slot, where PUBLISH counts
        only that node's subscribers; there it is two calls (`Backend.accept_and_route`).
        """
        if self.client.cluster:
            return await super().accept_and_route(label, client, ident, worker, payload)
        result = await self._script(
            self._accept_route,
            self.w("client", label, client),
            ident,
            self.client_ttl,
            p.encode(payload),
            WINDOW,
            self.k("route", worker),
        )
        return int(result)

    async def _script(self, script: AsyncScript, key: str, *args: str | int) -> Any:
        """Run a one-key script by its digest (the hot path: no `Script` object in between);
        a server that lost its script cache is sent the script itself."""
        try:
            run = self.redis.execute_command("EVALSHA", script.sha, 1, key, *args)
            return await self._call(run)
        except NoScriptError:
            return await self._call(script(keys=[key], args=list(args)))

    async def route(self, worker: str, payload: JsonObject) -> bool:
        """Publish an event or reply on the worker's routing channel; False if none listens."""
        receivers = await self._call(
            self.client.publish_counted(self.k("bus"), self.k("route", worker), p.encode(payload))
        )
        return receivers > 0

    # -- liveness ------------------------------------------------------------------------------
    async def heartbeat(self, connections: dict[str, list[str]]) -> None:
        """Refresh this worker's key and the expiry of its connections.

        First checks that the subscription is still on the master: after a failover it must
        follow (the outage this raises resubscribes, and pages reconnect and replay).
        """
        if self._pubsub is not None and await self._call(
            self.client.subscription_moved(self._pubsub, self.k("bus"))
        ):
            raise BackendUnavailable("Redis: the master moved (failover); following it")
        now = time.time()
        expiry = now + self.conn_ttl
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.k("worker", self.worker_id), now, ex=max(3, int(self.heartbeat_ttl)))
        for label, ids in connections.items():
            key = self.w("conns", label)
            if ids:
                pipe.zadd(key, {i: expiry for i in ids})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.expire(key, self.conn_ttl)
            pipe.hset(self.w("widget", label), "last_seen", now)
            pipe.expire(self.w("widget", label), self.widget_ttl)
        await self._call(pipe.execute())

    heartbeat_ttl: float = 6.0

    async def worker_alive(self, worker: str) -> bool:
        """True while the worker's heartbeat key exists."""
        return bool(await self._call(self.redis.exists(self.k("worker", worker))))

    async def presence(self, label: str) -> tuple[int, float | None]:
        """Live connections on any worker, and when the widget was last seen in use."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(self.w("conns", label), now, "+inf")
        pipe.hget(self.w("widget", label), "last_seen")
        count, seen = await self._call(pipe.execute())
        return int(count), float(seen) if seen else None

    async def connection_closed(self, label: str, conn_id: str) -> None:
        """Forget a connection and note when the widget was last in use."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(self.w("conns", label), conn_id)
        pipe.hset(self.w("widget", label), "last_seen", time.time())
        pipe.expire(self.w("widget", label), self.widget_ttl)
        await self._call(pipe.execute())
