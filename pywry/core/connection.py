"""One browser connection to one widget: reading frames, acks, and an ordered writer.

The adapter feeds text frames in and gives us two coroutines to send text and to close; it knows
nothing else about the protocol. Sending happens in one writer task per connection that pulls
from the widget's outbox, so an emit never creates a task and a slow page never blocks others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from . import protocol as p
from .widgets import Widget

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("pywry.connection")

SendText = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]

BAD_FRAME_LIMIT = 10
BAD_FRAME_WINDOW = 60.0
MAX_BATCH = 256


class RateLimiter:
    """Token bucket: `rate` events per second with a burst of the same size."""

    __slots__ = ("rate", "tokens", "stamp")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()

    def allow(self) -> bool:
        """Take one token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Wake:
    """`asyncio.Event` for the one waiter it has (the writer), minus the per-wait loop lookup.

    Same `set`/`clear`/`is_set`/`wait` as `asyncio.Event`; only the loop thread may call them.
    """

    __slots__ = ("_flag", "_loop", "_waiter")

    def __init__(self) -> None:
        self._flag = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Wake the waiter (or make the next `wait` return at once)."""
        if not self._flag:
            self._flag = True
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Reset, so the next `wait` blocks until `set`."""
        self._flag = False

    def is_set(self) -> bool:
        """True between `set` and `clear`."""
        return self._flag

    async def wait(self) -> bool:
        """Return once set."""
        while not self._flag:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return True


class Connection:
    """A live socket (or stream) of one client on one widget."""

    def __init__(
        self,
        engine: App,
        widget: Widget,
        client: str,
        after: int,
        send: SendText,
        close: Close,
    ) -> None:
        self.engine = engine
        self.widget = widget
        self.label = widget.label
        self.client = client
        self.last_seq = after
        self._send = send
        self._close = close
        self.direct: deque[str] = deque()
        self.wake = Wake()
        self.closed = False
        self.close_code: int | None = None
        self._bad: deque[float] = deque()
        self._rate = RateLimiter(engine.settings.server.max_events_per_second)
        self._writer: asyncio.Task[None] | None = None
        # While an event is being handled its ack (and any error) waits in `direct` for the
        # first answer or the end of handling, so ack + answer usually leave as one frame.
        self._holding = False

    # -- writing -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer; it sends the replay after `after` straight away."""
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())
        self.wake.set()

    def notify(self) -> None:
        """The widget's outbox grew (called on the loop thread)."""
        self.wake.set()

    def push(self, text: str) -> None:
        """Queue an unsequenced message (ack, error) for this connection only."""
        if self.closed:
            return
        if len(self.direct) >= self.engine.settings.server.max_queued_messages:
            log.warning("connection %s on %r fell too far behind; closing", self.client, self.label)
            self.closed = True
            self.close_code = p.CLOSE_POLICY
            self.wake.set()
            return
        self.direct.append(text)
        if not self._holding:
            self.wake.set()

    async def _write_loop(self) -> None:
        outbox = self.widget.outbox
        wake = self.wake
        try:
            while True:
                await wake.wait()
                wake.clear()
                frames: list[str] = []
                direct = self.direct
                while direct:
                    frames.append(direct.popleft())
                if self.last_seq != outbox.seq:
                    pending = outbox.since(self.last_seq)
                    if pending is None:  # gone here; a shared store may still have it
                        pending = await self.engine.fetch_since(self.widget, self.last_seq)
                    if pending is None:
                        frames.append(self.engine.resync_message(self.widget))
                        self.last_seq = outbox.seq
                    else:
                        frames.extend(pending)
                        self.last_seq += len(pending)
                if len(frames) <= MAX_BATCH:
                    if frames:
                        await self._send(p.batch(frames))
                else:
                    for i in range(0, len(frames), MAX_BATCH):
                        await self._send(p.batch(frames[i : i + MAX_BATCH]))
                if self.closed:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the peer went away mid-send
            log.debug("send to %s on %r failed: %s", self.client, self.label, exc)
            self.closed = True
        if self.close_code is not None:
            await self._safe_close(self.close_code, "")

    # -- reading -------------------------------------------------------------------------------
    async def receive_text(self, text: str) -> None:
        """Handle one text frame from the browser."""
        if self.closed:
            return
        if not self._rate.allow():
            await self.close(p.CLOSE_POLICY, "rate limit exceeded")
            return
        try:
            msg = p.parse_incoming(text, self.engine.settings.server.max_payload_size)
        except p.ProtocolError as exc:
            if exc.code == "too-big":
                log.info("closing %s on %r: %s", self.client, self.label, exc.detail)
                await self.close(p.CLOSE_TOO_BIG, "message too big")
                return
            self._bad_frame(exc.detail)
            return
        self._holding = True
        try:
            await self.engine.handle_event(self, msg)
        finally:
            self._holding = False
            if self.direct:
                self.wake.set()

    async def receive_bytes(self, data: bytes) -> None:
        """Binary frames are not part of protocol v1."""
        if self.closed:
            return
        if len(data) > self.engine.settings.server.max_payload_size:
            await self.close(p.CLOSE_TOO_BIG, "message too big")
            return
        self._bad_frame("binary frames are not accepted; send JSON text")

    def _bad_frame(self, detail: str) -> None:
        log.info("bad frame from %s on %r: %s", self.client, self.label, detail)
        now = time.monotonic()
        bad = self._bad
        bad.append(now)
        while bad and bad[0] < now - BAD_FRAME_WINDOW:
            bad.popleft()
        self.push(p.error("bad-message", detail))
        if len(bad) >= BAD_FRAME_LIMIT:
            self.closed = True
            self.close_code = p.CLOSE_POLICY
            self.wake.set()

    # -- closing -------------------------------------------------------------------------------
    async def close(self, code: int, reason: str = "") -> None:
        """Close from the server side after flushing what is queued."""
        if self.close_code is None:
            self.close_code = code
        self.closed = True
        self.wake.set()
        if self._writer is None or self._writer.done():
            await self._safe_close(code, reason)

    async def _safe_close(self, code: int, reason: str) -> None:
        try:
            await self._close(code, reason)
        except Exception:  # noqa: BLE001 - already gone
            pass

    async def finished(self) -> None:
        """The transport ended (either side); release everything this connection held."""
        self.closed = True
        self.wake.set()
        writer = self._writer
        if writer is not None and not writer.done():
            try:
                await asyncio.wait_for(asyncio.shield(writer), 1.0)
            except Exception:  # noqa: BLE001 - a stuck or failed writer is cancelled
                writer.cancel()
        self.engine.detach(self)


NextFrame = Callable[[], Awaitable["str | bytes | None"]]


async def pump(conn: Connection, next_frame: NextFrame) -> None:
    """Feed frames from the adapter into `conn` until either side closes.

    `next_frame` returns text, bytes, or None once the peer is gone; this loop is the only
    receive logic any adapter needs.
    """
    try:
        while not conn.closed:
            frame = await next_frame()
            if frame is None:
                break
            if isinstance(frame, str):
                await conn.receive_text(frame)
            else:
                await conn.receive_bytes(frame)
    except Exception as exc:  # noqa: BLE001 - a broken transport ends the connection quietly
        log.debug("connection %s on %r ended: %s", conn.client, conn.label, exc)
    finally:
        await conn.finished()
