"""The engine's link to a shared state backend (sqlite, redis): what several workers agree on.

Registration adopts the token every worker must use, emits are published in order by one task
(never a task per message), other workers' messages land in the local outboxes, events whose
callbacks live elsewhere are routed to their owner, and an outage closes sockets (pages show that
they are reconnecting) and is logged once until the store is back.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ..state.base import Backend, BackendStartError, BackendUnavailable, WidgetData
from . import protocol as p
from .access import apply_rules, rules_text
from .outbox import Outbox
from .streams import FIELDS, split_key
from .users import User
from .widgets import Widget

if TYPE_CHECKING:
    from .app import App
    from .peer import Peer

Later = Callable[[], Coroutine[Any, Any, None]]  # runs an event later (after an outage)

log = logging.getLogger("pywry.shared")

HEARTBEAT = 2.0
RETRY = 0.25
MAX_BATCH = 256
MAX_QUEUE = 100_000
FLUSH_WAIT = 5.0  # seconds a stopping worker waits for its queued messages to be stored


def envelope(kind: str, data_json: str, seq: int, field: str = "seq") -> str:
    """The encoded message, exactly as the backends build it."""
    return '{"type":%s,"data":%s,"%s":%d}' % (json.dumps(kind), data_json, field, seq)


class Shared:
    """Everything the engine does differently when state is shared between workers."""

    def __init__(self, engine: App, backend: Backend) -> None:
        self.engine = engine
        self.backend = backend
        self.worker_id = engine.worker_id
        self.queue: deque[tuple[Any, ...]] = deque()
        self._mids = itertools.count(1)  # message ids: a retried publish is not applied twice
        # events whose recording met an outage: (label, client, id, attempt, run it)
        self.uncertain: list[tuple[str, str, int, str, Later]] = []
        self._late: set[asyncio.Task[None]] = set()
        # the newest routed event of each page (label, client), which its next one waits for
        self._routed: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.wake: asyncio.Event | None = None
        self.started: asyncio.Event | None = None
        self.attempted: asyncio.Event | None = None  # set once the first connection attempt ended
        self.start_error: BackendStartError | None = None  # why that attempt failed
        self.down = False
        self.saves: dict[str, asyncio.Future[Any]] = {}
        self.unsaved: list[Widget] = []
        self.conn_ids: dict[Peer, str] = {}
        self.by_id: dict[str, Peer] = {}
        self._lock = threading.Lock()
        self._live = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._recovering: asyncio.Task[None] | None = None
        self.publishing = False  # the publisher is storing a batch

    # -- start and stop ------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect the backend, save widgets registered before the loop, begin publishing."""
        loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        if self.started is None:
            self.started = asyncio.Event()
        attempted = self._attempted()
        while True:
            try:
                await self.backend.start(self.on_message, self.on_routed, self.on_widget)
                break
            except OSError as exc:  # BackendUnavailable, or a file the backend cannot make
                if not attempted.is_set():
                    self.start_error = self.backend.open_error(exc)
                    self.down = True  # requests get 503 at once instead of waiting
                    attempted.set()
                else:
                    self._log_down(exc)
                await asyncio.sleep(RETRY * 4)
        if self.down:
            self.down = False
            log.warning("state backend %s is open; service started", self.backend.name)
        self.start_error = None
        attempted.set()
        with self._lock:
            pending, self.unsaved = self.unsaved, []
            self._live = True
        for widget in pending:
            self.saves[widget.label] = loop.create_task(self._save(widget))
        self._tasks = [loop.create_task(self._publisher()), loop.create_task(self._heartbeat())]
        self.started.set()
        if self.queue:
            self.wake.set()

    def _attempted(self) -> asyncio.Event:
        if self.attempted is None:
            self.attempted = asyncio.Event()
        return self.attempted

    async def opened(self) -> None:
        """Wait for the first connection attempt; `BackendStartError` when it failed."""
        await self._attempted().wait()
        if self.start_error is not None:
            raise self.start_error

    async def stop(self) -> None:
        """Flush what can be flushed and release the backend."""
        await self._flush(FLUSH_WAIT)
        for task in self._tasks:
            task.cancel()
        try:
            await asyncio.wait_for(self.backend.stop(), 5)
        except Exception:  # noqa: BLE001
            pass

    async def _flush(self, timeout: float) -> None:
        """Give the publisher up to `timeout` seconds to store what is queued (a stopping worker's
        last emits, such as those of the callbacks a drain waited for)."""
        deadline = time.monotonic() + timeout
        while (self.queue or self.publishing) and not self.down and time.monotonic() < deadline:
            if not self._tasks or self._tasks[0].done():
                return
            if self.queue and self.wake is not None:
                self.wake.set()
            await asyncio.sleep(0.01)

    async def ready(self, label: str | None = None) -> None:
        """Wait until started (and until `label`'s registration is stored)."""
        if self.started is None:  # start() has been scheduled and has not run yet
            self.started = asyncio.Event()
        if not self.started.is_set():
            await self.started.wait()
        if label is not None:
            save = self.saves.get(label)
            if save is not None and not save.done():
                await asyncio.shield(save)

    # -- registration --------------------------------------------------------------------------
    def register(self, widget: Widget) -> None:
        """Store a widget for every worker; safe from any thread (blocks off the loop)."""
        engine = self.engine
        widget.owner = self.worker_id
        with self._lock:
            if not self._live or engine.loop.loop is None:
                self.unsaved.append(widget)
                return
        loop = engine.loop.loop
        assert loop is not None
        if threading.get_ident() == engine.loop.thread:
            self.saves[widget.label] = loop.create_task(self._save(widget))
            return
        future = asyncio.run_coroutine_threadsafe(self._save(widget), loop)
        future.result(15)

    async def _save(self, widget: Widget) -> None:
        data = WidgetData(
            label=widget.label,
            token=widget.token,
            content=widget.content,
            title=widget.title,
            head=widget.head,
            kind=widget.kind,
            theme=widget.theme or "",
            per_visitor=widget.per_visitor,
            owner=self.worker_id,
            seq=widget.outbox.seq,
            session=widget.session,
            rules=rules_text(widget),
        )
        try:
            token, seq = await self.backend.save_widget(data)
        except BackendUnavailable as exc:
            self.outage(exc)
            raise
        widget.token = token
        widget.outbox.advance(seq)
        self.saves.pop(widget.label, None)

    async def load(self, label: str) -> Widget | None:
        """Bring a widget registered on another worker into this one's registry."""
        data = await self.backend.load_widget(label)
        if data is None:
            return None
        server = self.engine.settings.server
        widget = Widget(
            label=label,
            content=data.content,
            outbox=Outbox.configured(server, label, data.seq),
            title=data.title,
            token=data.token,
            head=data.head,
            kind=data.kind,
            theme=data.theme or None,
            per_visitor=data.per_visitor,
            session=data.session,
        )
        apply_rules(widget, data.rules)
        widget.owner = data.owner
        widget.remote = True
        widget.last_used = time.monotonic()
        existing = self.engine.registry.get(label)
        if existing is not None:  # registered meanwhile
            return existing
        return self.engine.registry.put(widget)

    # -- publishing ----------------------------------------------------------------------------
    def emit(self, key: str, kind: str, data: Any) -> None:
        """Queue a message for ordered publishing on stream `key`; safe from any thread.

        `key` is a widget's label, or a page's or session's stream key (`pywry.core.streams`).
        """
        split = split_key(key)
        field = FIELDS[split[1]] if split else "seq"
        mid = f"{self.worker_id}.{next(self._mids)}"  # kept through retries: published once
        self.enqueue(("msg", key, kind, p.encode(data), field, mid))

    def enqueue(self, item: tuple[Any, ...]) -> None:
        """Add an operation to the ordered publish queue and wake the publisher."""
        if len(self.queue) >= MAX_QUEUE:
            raise RuntimeError("pywry's publish queue is full: the state backend is not keeping up")
        self.queue.append(item)
        if self.wake is not None:
            # inside a sync callback the publisher's wake-up rides on the callback's completion
            if not self.engine.dispatcher.hold(self.wake.set):
                self.engine.loop.call(self.wake.set)
        elif self.engine.threaded_host:
            # a WSGI worker that has served no pywry request has no loop yet: start it, or
            # this emit (a host route's, a thread's) would wait for the first pywry request
            self.engine.loop.ensure()

    async def _publisher(self) -> None:
        assert self.wake is not None
        while True:
            self.publishing = False
            await self.wake.wait()
            self.publishing = True
            self.wake.clear()
            await self._drain()

    async def _drain(self) -> None:
        """Publish what is queued (a function of its own, so the last batch published, its
        payloads included, is not kept by the publisher's frame while it waits)."""
        queue = self.queue
        while queue and not self.down:
            head = queue[0]
            try:
                if head[0] == "msg":
                    batch: list[tuple[Any, ...]] = []
                    while queue and queue[0][0] == "msg" and len(batch) < MAX_BATCH:
                        batch.append(queue.popleft())
                    try:
                        seqs = await self.backend.publish([i[1:] for i in batch])
                    except BaseException:
                        queue.extendleft(reversed(batch))
                        raise
                    for item, seq in zip(batch, seqs, strict=True):
                        if seq:
                            text = envelope(item[2], item[3], seq, item[4])
                            self.on_message(item[1], seq, text)
                else:
                    await self._apply(head)
                    queue.popleft()
            except BackendUnavailable as exc:
                self.outage(exc)
                break
            except Exception:  # noqa: BLE001 - never let the publisher die
                log.exception("publishing to the state backend failed")
                if queue and queue[0] is head:
                    queue.popleft()

    async def _apply(self, item: tuple[Any, ...]) -> None:
        kind, label = item[0], item[1]
        if kind == "update":
            await self.backend.update_widget(label, **item[2])
        elif kind == "delete":
            await self.backend.delete_widget(label)
        elif kind == "closed":
            await self.backend.connection_closed(label, item[2])

    # -- what other workers send ---------------------------------------------------------------
    def on_message(self, key: str, seq: int, text: str) -> None:
        """A sequenced message (ours or another worker's) arrived; deliver it locally.

        A page's or session's message is kept only where a peer follows that stream; a page
        that reconnects elsewhere gets it from the store.
        """
        split = split_key(key)
        if split is None:
            widget = self.engine.registry.get(key)
            if widget is not None and widget.outbox.append_encoded(seq, text):
                self.engine._wake(key)
            return
        stream = self.engine.streams.find(key)
        if stream is not None and stream.append_encoded(seq, text):
            self.engine._wake(split[0], key)

    def on_widget(self, label: str, change: str, worker: str) -> None:
        """Another worker removed a widget or changed its content: follow it here."""
        if worker == self.worker_id:
            return
        if change == "updated":
            if label in self.engine.registry:
                asyncio.get_running_loop().create_task(self._refresh(label))
            return
        widget = self.engine.registry.remove(label)
        if widget is None:
            return
        conns = self.engine.peers.pop(label, set())
        self.engine.shut_peers(list(conns), p.CLOSE_UNKNOWN_WIDGET)

    async def _refresh(self, label: str) -> None:
        try:
            data = await self.backend.load_widget(label)
        except BackendUnavailable as exc:
            self.outage(exc)
            return
        widget = self.engine.registry.get(label)
        if data is not None and widget is not None:
            with widget.lock:
                widget.content = data.content
                widget.theme = data.theme or None
                widget.session = data.session or widget.session

    def content_changed(self, widget: Widget) -> None:
        """Store a widget's new content (in order with its emits) for every worker."""
        self.enqueue(
            ("update", widget.label, {"content": widget.content, "theme": widget.theme or ""})
        )

    async def on_routed(self, payload: dict[str, Any]) -> None:
        """An event routed to us because we own its widget's callbacks, or a reply to one."""
        if payload.get("kind") == "reply":
            conn = self.by_id.get(payload.get("conn", ""))
            if conn is not None:
                conn.push(payload["text"])
            return
        label = payload["label"]
        widget = self.engine.registry.get(label)
        origin, conn_id = payload["origin"], payload["conn"]

        def reply(text: str) -> None:
            asyncio.get_running_loop().create_task(self._send_reply(origin, conn_id, text))

        if widget is None or getattr(widget, "remote", False):
            reply(p.error("owner-gone", "the worker that served this page is gone; reload"))
            return
        msg = p.Incoming(payload["type"], payload["data"], payload.get("id"), label)
        client, session = str(payload.get("client", "")), str(payload.get("session", ""))
        user = User.from_json(payload.get("user"))
        address = str(payload.get("address", ""))
        later = functools.partial(
            self.engine.dispatch, widget, msg, reply, client, session, user, address
        )
        self._in_order((label, client), later)

    def _in_order(self, key: tuple[str, str], later: Later) -> None:
        """Run a routed event in a task of its own, after the page's earlier ones.

        The listener goes on reading at once: one page's slow callback holds back no other
        page's events (nor the messages on the bus), while each page's events keep their order.
        The engine counts the event in flight from now, so a drain waits for it.
        """
        before = self._routed.get(key)
        self.engine.begin_work()

        async def after_the_earlier() -> None:
            try:
                if before is not None:
                    await asyncio.wait({before})  # whatever became of it, this one goes next
                await later()
            finally:
                self.engine.end_work()

        task = asyncio.get_running_loop().create_task(after_the_earlier())
        self._routed[key] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._routed.get(key) is t:
                del self._routed[key]
            if not t.cancelled() and t.exception() is not None:
                log.error("a routed event failed", exc_info=t.exception())

        task.add_done_callback(done)

    async def _send_reply(self, worker: str, conn_id: str, text: str) -> None:
        if worker == self.worker_id:
            conn = self.by_id.get(conn_id)
            if conn is not None:
                conn.push(text)
            return
        try:
            await self.backend.route(worker, {"kind": "reply", "conn": conn_id, "text": text})
        except BackendUnavailable as exc:
            self.outage(exc)

    # -- events from local connections ---------------------------------------------------------
    async def accept(self, label: str, client: str, ident: int, later: Later) -> bool:
        """Shared de-duplication: True the first time any worker sees this event.

        When the store goes away mid-call, nobody knows whether the record landed; `later`
        (which runs the event) is kept, and run once the store is back if the record shows
        this attempt took it. The page's resend is then a duplicate: the event runs once.
        """
        attempt = f"{self.worker_id}.{next(self._mids)}"
        try:
            return await self.backend.accept_event(label, client, ident, attempt)
        except BackendUnavailable:
            self.uncertain.append((label, client, ident, attempt, later))
            raise

    async def _settle(self) -> None:
        """After an outage: run the events whose record landed although its answer did not."""
        doubtful, self.uncertain = self.uncertain, []
        for label, client, ident, attempt, later in doubtful:
            if await self.backend.accepted_by(label, client, ident, attempt):
                log.info(
                    "event %d of %s on %r was recorded before the outage: running it",
                    ident,
                    client,
                    label,
                )
                task = asyncio.get_running_loop().create_task(later())
                self._late.add(task)
                task.add_done_callback(self._late.discard)

    async def route_event(self, conn: Peer, msg: p.Incoming) -> None:
        """De-duplicate an event and send it to the worker that holds the widget's callbacks.

        One round trip to the store does both (the cross-worker hot path); the ack goes out once
        the event is recorded, and an owner that is gone is answered with `owner-gone`.
        """
        owner = conn.widget.owner
        payload = {
            "kind": "event",
            "label": conn.label,
            "type": msg.type,
            "data": msg.data,
            "id": msg.id,
            "origin": self.worker_id,
            "conn": self.conn_ids.get(conn, ""),
            "client": conn.client,
            "session": conn.session,
            "user": None if conn.user is None else conn.user.to_json(),
            "address": conn.address,
        }
        if msg.id is None:
            outcome = 1 if owner and await self.backend.route(owner, payload) else 0
        elif owner:
            outcome = await self.backend.accept_and_route(
                conn.label, conn.client, msg.id, owner, payload
            )
        else:
            outcome = 0 if await self.backend.accept_event(conn.label, conn.client, msg.id) else -1
        if msg.id is not None:
            conn.push(p.ack(msg.id))
        if outcome == 0:
            conn.push(
                p.error(
                    "owner-gone",
                    "the worker that held this page's callbacks is gone; reload the page",
                    event=msg.type,
                    id=msg.id,
                )
            )

    def attached(self, conn: Peer) -> None:
        """Track a new local connection for heartbeats and routed replies."""
        conn_id = f"{self.worker_id}:{uuid.uuid4().hex[:12]}"
        self.conn_ids[conn] = conn_id
        self.by_id[conn_id] = conn

    def detached(self, conn: Peer) -> None:
        """Forget a local connection (and tell the store, in order with everything else)."""
        conn_id = self.conn_ids.pop(conn, None)
        if conn_id is not None:
            self.by_id.pop(conn_id, None)
            self.enqueue(("closed", conn.label, conn_id))

    # -- liveness and collection ---------------------------------------------------------------
    async def _heartbeat(self) -> None:
        first = True
        while True:
            if not first:
                await asyncio.sleep(HEARTBEAT)
            first = False
            if self.down:
                continue
            listening = getattr(self.backend, "listening", None)
            try:
                if listening is not None and not listening():
                    raise BackendUnavailable("the subscription to the state backend broke")
                await self.backend.heartbeat(self._connections())
                await self._collect()
            except BackendUnavailable as exc:
                self.outage(exc)
            except Exception:  # noqa: BLE001
                log.exception("heartbeat failed")

    def _connections(self) -> dict[str, list[str]]:
        """The ids of this worker's open connections, by widget.

        A function of its own so no closed peer stays referenced by the heartbeat's frame (a
        loop variable there would keep the last peer, its streams and its widget alive).
        """
        conns: dict[str, list[str]] = {}
        for conn, conn_id in self.conn_ids.items():
            conns.setdefault(conn.label, []).append(conn_id)
        return conns

    async def _collect(self) -> None:
        """Remove per-visitor widgets we own once nobody on any worker uses them."""
        engine = self.engine
        now = time.time()
        mono = time.monotonic()
        server = engine.settings.server
        for widget in engine.registry.all():
            if widget.connections:
                continue
            if getattr(widget, "remote", False):
                if mono - widget.last_used > max(60.0, server.reconnect_timeout):
                    engine.registry.remove(widget.label)  # only our cached copy
                continue
            if not widget.per_visitor:
                continue
            count, seen = await self.backend.presence(widget.label)
            if count:
                continue
            if seen is None:
                dead = mono - widget.created > engine.unclaimed_ttl
            else:
                dead = now - seen > server.reconnect_timeout
            if dead:
                engine.remove_widget(widget.label)

    # -- outages -------------------------------------------------------------------------------
    def _log_down(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            log.error(
                "state backend %s went away (%s); pages will reconnect once it is back",
                self.backend.name,
                exc,
            )

    def outage(self, exc: BaseException) -> None:
        """Enter outage mode once: log, close sockets so pages show they reconnect, retry."""
        if self.down and self._recovering is not None and not self._recovering.done():
            return
        self._log_down(exc)
        engine = self.engine
        conns = [c for cs in engine.peers.values() for c in cs]
        engine.shut_peers(conns, p.CLOSE_RESTART)
        self._recovering = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        while True:
            await asyncio.sleep(RETRY)
            try:
                await self.backend.ping()
                await self.backend.start(self.on_message, self.on_routed, self.on_widget)
                for widget in self.engine.registry.all():
                    if not getattr(widget, "remote", False):
                        await self._save(widget)
                await self.backend.restore_heads(self.engine.streams.heads())
                await self._settle()  # before pages come back and resend
                break
            except BackendUnavailable:
                continue
            except Exception:  # noqa: BLE001
                log.exception("reconnecting to the state backend failed")
        self.down = False
        log.warning("state backend %s is back; service resumed", self.backend.name)
        if self.wake is not None:
            self.wake.set()
