"""HTTP stream transport: server-sent events down, POST up (DESIGN section 3).

One logic, two flavours. `EventStream.async_chunks()` is an async generator for ASGI, aiohttp
and Django under ASGI; `EventStream.sync_chunks()` is a plain generator for WSGI (Flask, Django
under WSGI) that blocks on a `threading.Event`, never on an event loop. Both are woken by the
engine when the widget's outbox grows (`App.add_stream`), from whatever thread emitted, with or
without a running loop, and both end after `sse_timeout` so a sync worker is never held forever;
the bridge reopens at once with `Last-Event-ID`, and the stream resumes from there.

`POST {base}/events/{label}` carries one event; the answer is `{"acks": [...], "messages": [...]}`
(unsequenced replies such as a callback's `pywry:error`). Events go through
`App.handle_event`, so de-duplication, routing to another worker and dispatch are the same as
for a WebSocket. Under WSGI the request thread hands the event to the engine's loop (the
server's, or a private one this module starts) and waits for the callback to finish.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from . import protocol as p
from .adapter import AdapterConfig
from .app import App
from .connection import MAX_BATCH, RateLimiter
from .http import CLIENT_ID, HttpResponse, close_code_response, error_response, json_response
from .tokens import new_label
from .widgets import Widget

__all__ = [
    "EventStream",
    "ensure_loop",
    "handle_post_async",
    "handle_post_sync",
    "open_stream_async",
    "open_stream_sync",
]

log = logging.getLogger("pywry.stream")
T = TypeVar("T")

KEEPALIVE = 10.0  # seconds of silence before a comment line keeps proxies (and us) honest
POST_WAIT = 120.0  # longest a sync POST waits for its callback before answering with the ack
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
STREAM_TYPE = "text/event-stream; charset=utf-8"
OPENING = b": pywry event stream\n\n"
KEEPALIVE_LINE = b": keepalive\n\n"
MAX_LIMITERS = 10_000
DRAIN_CAP = 16 * 1024 * 1024  # a refused body up to this size is read to the end


# -- the engine's loop, for servers that have none ----------------------------------------------
_loop_lock = threading.Lock()
_private: dict[int, tuple[asyncio.AbstractEventLoop, threading.Thread, int]] = {}


def ensure_loop(engine: App) -> asyncio.AbstractEventLoop:
    """The engine's running loop; under WSGI a private one in a daemon thread, started once."""
    loop = engine.loop
    if loop is not None and loop.is_running():
        return loop
    with _loop_lock:
        loop = engine.loop
        if loop is not None and loop.is_running():
            return loop
        known = _private.get(id(engine))
        if known is not None and known[2] == os.getpid() and known[1].is_alive():
            return known[0]
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)

            def bind() -> None:
                try:
                    engine.bind_loop()
                finally:
                    ready.set()

            loop.call_soon(bind)
            loop.run_forever()

        thread = threading.Thread(target=run, name="pywry-loop", daemon=True)
        thread.start()
        ready.wait(10)
        _private[id(engine)] = (loop, thread, os.getpid())
        return loop


def run_sync(engine: App, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run an engine coroutine from a thread that has no loop of its own."""
    future = asyncio.run_coroutine_threadsafe(coro, ensure_loop(engine))
    return future.result(timeout)


async def run_async(engine: App, coro: Coroutine[Any, Any, T]) -> T:
    """Await an engine coroutine on the engine's loop (here, when this is that loop)."""
    loop = asyncio.get_running_loop()
    if engine.loop is None or not engine.loop.is_running():
        engine.bind_loop()
    target = engine.loop
    if target is None or target is loop:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, target))


async def prepare_async(engine: App, label: str) -> HttpResponse | None:
    """Make `label` servable on this worker; a 503 answer while a shared store is down."""
    from ..state.base import BackendUnavailable  # noqa: PLC0415

    prepare = getattr(engine, "prepare", None)
    if prepare is None:
        return None
    try:
        await run_async(engine, prepare(label))
    except BackendUnavailable as exc:
        return error_response(503, "backend-unavailable", str(exc))
    return None


def prepare_sync(engine: App, label: str) -> HttpResponse | None:
    """`prepare_async` for WSGI request threads."""
    from ..state.base import BackendUnavailable  # noqa: PLC0415

    prepare = getattr(engine, "prepare", None)
    if prepare is None:
        return None
    if getattr(engine, "shared", None) is None:
        ensure_loop(engine)  # housekeeping (widget collection) runs on it
        return None
    try:
        run_sync(engine, prepare(label), 30)
    except BackendUnavailable as exc:
        return error_response(503, "backend-unavailable", str(exc))
    return None


# -- the stream ----------------------------------------------------------------------------------
class StreamPeer:
    """One open event stream, as the engine sees it (a connection without a socket)."""

    __slots__ = ("widget", "label", "client", "closed", "__weakref__")

    def __init__(self, widget: Widget, client: str) -> None:
        self.widget = widget
        self.label = widget.label
        self.client = client
        self.closed = False

    def push(self, text: str) -> None:
        """Unsequenced replies routed here are not kept (POST answers carry them)."""


class EventStream:
    """The body of one `GET {base}/sse/{label}` answer; iterate it once, sync or async."""

    content_type = STREAM_TYPE
    headers = STREAM_HEADERS

    def __init__(self, cfg: AdapterConfig, widget: Widget, client: str, after: int) -> None:
        self.cfg = cfg
        self.engine = cfg.engine
        self.widget = widget
        self.client = client
        self.last_seq = after
        server = cfg.engine.settings.server
        self.timeout = float(server.sse_timeout)
        self.linger = max(
            0.0, float(server.session_expire_seconds) - float(server.reconnect_timeout)
        )
        self.peer = StreamPeer(widget, client)

    # -- shared logic ------------------------------------------------------------------------------
    def _pending(self) -> list[str] | None:
        """Sequenced messages after `last_seq` from the local outbox; None when it has a gap."""
        outbox = self.widget.outbox
        if self.last_seq == outbox.seq:
            return []
        return outbox.since(self.last_seq)

    def _encode(self, pending: list[str] | None) -> bytes | None:
        """SSE events for `pending` (a resync when None); advances `last_seq`."""
        outbox = self.widget.outbox
        if pending is None:
            self.last_seq = outbox.seq
            text = self.engine.resync_message(self.widget)
            return f"id: {self.last_seq}\ndata: {text}\n\n".encode()
        if not pending:
            return None
        parts: list[str] = []
        for i in range(0, len(pending), MAX_BATCH):
            chunk = pending[i : i + MAX_BATCH]
            self.last_seq += len(chunk)
            parts.append(f"id: {self.last_seq}\ndata: {p.batch(chunk)}\n\n")
        return "".join(parts).encode()

    def _attach(self, wake: Callable[[], None]) -> None:
        self.engine.add_stream(self.peer, wake)

    def _detach(self, wake: Callable[[], None]) -> None:
        self.peer.closed = True
        self.engine.remove_stream(self.peer, wake, self.linger)

    def _done(self) -> bool:
        return self.widget.closed

    # -- WSGI ------------------------------------------------------------------------------------
    def sync_chunks(self) -> Iterator[bytes]:
        """The stream for a sync server: blocks on a threading.Event between messages."""
        wake = threading.Event()
        self._attach(wake.set)
        try:
            yield OPENING
            now = time.monotonic()
            deadline = now + self.timeout
            last_write = now
            while True:
                wake.clear()
                pending = self._pending()
                if pending is None and getattr(self.engine, "shared", None) is not None:
                    pending = run_sync(
                        self.engine, self.engine.fetch_since(self.widget, self.last_seq), 30
                    )
                chunk = self._encode(pending)
                now = time.monotonic()
                if chunk:
                    yield chunk
                    last_write = now
                if self._done() or now >= deadline:
                    return
                if not wake.wait(min(deadline - now, KEEPALIVE)):
                    now = time.monotonic()
                    if now - last_write >= KEEPALIVE - 0.01 and now < deadline:
                        yield KEEPALIVE_LINE
                        last_write = now
        finally:
            self._detach(wake.set)

    # -- ASGI / aiohttp ----------------------------------------------------------------------------
    async def async_chunks(self) -> AsyncGenerator[bytes, None]:
        """The stream for an async server: waits on an asyncio.Event between messages."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notify() -> None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop is closed: the server stopped
                pass

        self._attach(notify)
        try:
            yield OPENING
            now = loop.time()
            deadline = now + self.timeout
            last_write = now
            while True:
                wake.clear()
                pending = self._pending()
                if pending is None and getattr(self.engine, "shared", None) is not None:
                    pending = await run_async(
                        self.engine, self.engine.fetch_since(self.widget, self.last_seq)
                    )
                chunk = self._encode(pending)
                now = loop.time()
                if chunk:
                    yield chunk
                    last_write = now
                if self._done() or now >= deadline:
                    return
                try:
                    await asyncio.wait_for(wake.wait(), min(deadline - now, KEEPALIVE))
                except asyncio.TimeoutError:
                    now = loop.time()
                    if now - last_write >= KEEPALIVE - 0.01 and now < deadline:
                        yield KEEPALIVE_LINE
                        last_write = now
        finally:
            self._detach(notify)


def _admit_stream(
    cfg: AdapterConfig, label: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> HttpResponse | EventStream:
    token = query.get("token") or headers.get("x-pywry-token")
    widget, code = cfg.admit(label, token, headers.get("origin"), headers.get("host"))
    if widget is None:
        assert code is not None
        return close_code_response(code)
    client = query.get("client") or ""
    if not CLIENT_ID.match(client):
        client = new_label()
    after = _seq(headers.get("last-event-id"))
    if after is None:
        after = _seq(query.get("after"))
    if after is None:
        after = widget.outbox.seq
    server = cfg.engine.settings.server
    if widget.connections >= server.max_connections_per_widget:
        log.warning("widget %r is at its connection limit", label)
        return error_response(429, "policy", "too many connections to this widget")
    return EventStream(cfg, widget, client, after)


def open_stream_sync(
    cfg: AdapterConfig, label: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> HttpResponse | EventStream:
    """`GET {base}/sse/{label}` under WSGI: an error answer, or a stream (`sync_chunks()`)."""
    refused = prepare_sync(cfg.engine, label)
    return refused or _admit_stream(cfg, label, query, headers)


async def open_stream_async(
    cfg: AdapterConfig, label: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> HttpResponse | EventStream:
    """`GET {base}/sse/{label}` for async servers (iterate with `async_chunks()`)."""
    refused = await prepare_async(cfg.engine, label)
    return refused or _admit_stream(cfg, label, query, headers)


def _seq(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        return None
    return int(value)


# -- posts ---------------------------------------------------------------------------------------
class PostPeer:
    """The sender of one POSTed event, as `App.handle_event` sees it; collects its replies."""

    __slots__ = ("widget", "label", "client", "replies", "closed", "__weakref__")

    def __init__(self, widget: Widget, client: str) -> None:
        self.widget = widget
        self.label = widget.label
        self.client = client
        self.replies: list[str] = []
        self.closed = False

    def push(self, text: str) -> None:
        """An ack or an unsequenced reply for this post's answer."""
        self.replies.append(text)

    def answer(self) -> HttpResponse:
        """`{"acks": [...], "messages": [...]}` from what was pushed."""
        acks: list[int] = []
        messages: list[Any] = []
        for text in list(self.replies):
            try:
                msg = json.loads(text)
            except ValueError:  # our own encoding; never expected
                continue
            if isinstance(msg, dict) and msg.get("type") == "pywry:ack":
                acks.append(msg.get("data", {}).get("id"))
            else:
                messages.append(msg)
        return json_response(200, {"acks": acks, "messages": messages})


class _Limits:
    """Per-client token buckets for posts (bounded, least recently used dropped first)."""

    def __init__(self) -> None:
        self.buckets: OrderedDict[tuple[str, str], RateLimiter] = OrderedDict()
        self.lock = threading.Lock()

    def allow(self, key: tuple[str, str], rate: float) -> bool:
        """Take one token for `key`."""
        with self.lock:
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = RateLimiter(rate)
                if len(self.buckets) > MAX_LIMITERS:
                    self.buckets.popitem(last=False)
            else:
                self.buckets.move_to_end(key)
            return bucket.allow()


_limits: weakref.WeakKeyDictionary[App, _Limits] = weakref.WeakKeyDictionary()


def _limits_for(engine: App) -> _Limits:
    limits = _limits.get(engine)
    if limits is None:
        limits = _limits.setdefault(engine, _Limits())
    return limits


def _admit_post(
    cfg: AdapterConfig, label: str, headers: Mapping[str, str]
) -> HttpResponse | PostPeer:
    widget, code = cfg.admit(
        label, headers.get("x-pywry-token"), headers.get("origin"), headers.get("host")
    )
    if widget is None:
        assert code is not None
        return close_code_response(code)
    client = headers.get("x-pywry-client") or ""
    if not CLIENT_ID.match(client):
        return error_response(400, "bad-request", "the X-PyWry-Client header is missing or invalid")
    length = headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > cfg.payload_limit:
        return error_response(
            413, "too-big", f"message of {length} bytes exceeds the limit of {cfg.payload_limit}"
        )
    rate = cfg.engine.settings.server.max_events_per_second
    if not _limits_for(cfg.engine).allow((label, client), rate):
        return error_response(429, "policy", "rate limit exceeded; slow down")
    return PostPeer(widget, client)


def _parse(cfg: AdapterConfig, body: bytes | None) -> HttpResponse | p.Incoming:
    limit = cfg.payload_limit
    if body is None:
        return error_response(413, "too-big", f"message exceeds the limit of {limit} bytes")
    try:
        return p.parse_incoming(body, limit)
    except p.ProtocolError as exc:
        status = 413 if exc.code == "too-big" else 400
        return error_response(status, exc.code, exc.detail)


def read_limited(read: Callable[[int], bytes], limit: int) -> bytes | None:
    """Read a request body of at most `limit` bytes; None when it is longer."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = read(min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


async def read_limited_async(chunks: AsyncIterator[bytes], limit: int) -> bytes | None:
    """`read_limited` over an async iterator of body chunks."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(parts)


def drain(read: Callable[[int], bytes], cap: int = DRAIN_CAP) -> None:
    """Drop the rest of a refused body (up to `cap`) so the client reads our answer, not a reset."""
    left = cap
    try:
        while left > 0:
            chunk = read(min(65536, left))
            if not chunk:
                return
            left -= len(chunk)
    except Exception:  # noqa: BLE001 - the client went away: nothing to answer
        return


async def drain_async(chunks: AsyncIterator[bytes], cap: int = DRAIN_CAP) -> None:
    """`drain` for an async body."""
    left = cap
    try:
        async for chunk in chunks:
            left -= len(chunk)
            if left <= 0:
                return
    except Exception:  # noqa: BLE001
        return


def handle_post_sync(
    cfg: AdapterConfig, label: str, headers: Mapping[str, str], read: Callable[[int], bytes]
) -> HttpResponse:
    """`POST {base}/events/{label}` under WSGI; `read(n)` reads the request body."""
    engine = cfg.engine
    refused = prepare_sync(engine, label)
    if refused is not None:
        return refused
    peer = _admit_post(cfg, label, headers)
    if isinstance(peer, HttpResponse):
        drain(read)
        return peer
    msg = _parse(cfg, read_limited(read, cfg.payload_limit))
    if isinstance(msg, HttpResponse):
        drain(read)
        return msg
    future = asyncio.run_coroutine_threadsafe(
        engine.handle_event(peer, msg),  # type: ignore[arg-type]
        ensure_loop(engine),
    )
    try:
        future.result(POST_WAIT)
    except FutureTimeout:
        log.warning("callback for %r on %r still runs; answering the post", msg.type, label)
    except Exception:  # noqa: BLE001 - handle_event reports callback errors itself
        log.exception("event %r on %r failed", msg.type, label)
    return peer.answer()


async def handle_post_async(
    cfg: AdapterConfig, label: str, headers: Mapping[str, str], body: AsyncIterator[bytes]
) -> HttpResponse:
    """`POST {base}/events/{label}` for async servers; `body` yields the request body."""
    engine = cfg.engine
    refused = await prepare_async(engine, label)
    if refused is not None:
        return refused
    peer = _admit_post(cfg, label, headers)
    if isinstance(peer, HttpResponse):
        await drain_async(body)
        return peer
    msg = _parse(cfg, await read_limited_async(body, cfg.payload_limit))
    if isinstance(msg, HttpResponse):
        await drain_async(body)
        return msg
    await run_async(engine, engine.handle_event(peer, msg))  # type: ignore[arg-type]
    return peer.answer()
