"""One peer: one browser client of one widget, whatever transport carries it.

A WebSocket, an event stream and a single event POST are all peers. A peer reads browser frames
(`receive_text`, `receive_bytes`: size, rate and malformed-frame policy, then the app handles
the event) and gathers what the browser must be sent (`collect`: its own unsequenced replies,
then whatever its cursor has not delivered yet). The transport loops (`pywry.core.socket`,
`pywry.core.stream`) only decide how to wait and how to write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Protocol

from . import protocol as p
from .cursor import Cursor
from .limits import Bucket, address_key
from .outbox import Outbox
from .users import NOBODY, SIGNED_IN, Who
from .widgets import Widget

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("pywry.peer")

BAD_FRAME_LIMIT = 10
BAD_FRAME_WINDOW = 60.0
MAX_BATCH = 256


class Wake:
    """An `asyncio.Event` for its one waiter (the peer's transport loop), without per-wait lookups.

    Only the loop thread may call it; other threads go through `App.notify`.
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


class Flusher(Protocol):
    """What a fan-out needs of a transport's writer (`pywry.core.socket.Writer`)."""

    busy: bool

    async def flush(self) -> None:
        """Send what the peer has to send now."""


class Peer:
    """One client of one widget: what it sent, what it still has to be sent, and its limits."""

    # thousands stay open at once: no per-instance dict, and what is rarely needed is made late
    __slots__ = (
        "app", "address", "counted_as", "transport", "user", "signed_in", "expires", "opened",
        "login", "widget", "label", "client", "session", "cursor", "resuming", "keys", "joining",
        "direct", "wake", "writer", "closed", "close_code", "_bad", "_buckets", "_holding",
        "_gone", "__weakref__",
    )  # fmt: skip

    def __init__(
        self,
        app: App,
        widget: Widget,
        client: str,
        after: int,
        session: str = "",
        who: Who = NOBODY,
        address: str = "",
        transport: str = "post",
    ) -> None:
        self.app = app
        self.address = address  # the client's address as the server saw it
        self.counted_as = address_key(address)  # what per-address limits count it as
        self.transport = transport  # websocket, sse, or post (one event, not a connection)
        self.user = who.user  # the signed-in user its events run as
        self.signed_in = who.source == SIGNED_IN  # its sign-in is checked while it is open
        self.expires = who.expires  # a bearer token's end (epoch seconds), 0: none
        self.opened = time.time()  # a session ended after this closes it
        self.login = who.login  # the host login it came through (its logout closes the peer)
        self.widget = widget
        self.label = widget.label
        self.client = client
        self.session = session
        self.cursor = Cursor([widget.outbox], [after])
        self.resuming = after < widget.outbox.seq  # a reconnect: its first delivery replays
        self.keys: set[str] = set()  # the page and session streams this peer follows
        self.joining: dict[int, bool] = {}  # streams to catch up with the store: index -> "now"
        self.direct: list[str] = []  # a list, not a deque: it is taken whole, and smaller idle
        self.wake = Wake()
        self.writer: Flusher | None = None  # a socket's writer, which a fan-out may run inline
        self.closed = False
        self.close_code: int | None = None
        self._bad: deque[float] | None = None  # times of its malformed frames (made on the first)
        # its own rate first, then its address's and its widget token's (shared with others)
        self._buckets = (
            Bucket(app.settings.server.max_events_per_second),
            *app.limits.event_buckets(address, widget.label),
        )
        # While an event is handled its ack (and any error) waits for the first answer or the
        # end of handling, so ack and answer usually leave in one frame.
        self._holding = False
        self._gone: list[asyncio.Future[None]] | bool = False  # True once detached, or waiters

    def follow(self, stream: Outbox, position: int | None) -> None:
        """Also receive `stream` (the page's own, its session's) after `position` (None: now)."""
        start = stream.seq if position is None else position
        index = self.cursor.add(stream, start)
        self.keys.add(stream.key)
        if self.app.shared is not None:  # the store may know more than this worker
            self.joining[index] = position is None
        elif position is None:
            self.direct.append(self._position(index))

    def _position(self, index: int) -> str:
        """Tell the page where it starts in stream `index`, so a reconnect resumes from there."""
        stream = self.cursor.streams[index]
        return p.unsequenced(
            "pywry:position", {"field": stream.field, "seq": self.cursor.position(index)}
        )

    def positions(self) -> dict[str, int]:
        """Where this peer stands in each stream, by the field its messages carry."""
        cursor = self.cursor
        return {s.field: cursor.position(i) for i, s in enumerate(cursor.streams)}

    @property
    def last_seq(self) -> int:
        """The last widget seq this peer was given."""
        return self.cursor.position(0)

    # -- what goes out ---------------------------------------------------------------------------
    def push(self, text: str) -> None:
        """Queue an unsequenced message (ack, error) for this peer only."""
        if self.closed:
            return
        if len(self.direct) >= self.app.settings.server.max_queued_messages:
            log.warning("client %s of %r fell too far behind; closing", self.client, self.label)
            self.shut(p.CLOSE_POLICY)
            return
        self.direct.append(text)
        if not self._holding:
            self.wake.set()

    def replies(self) -> list[str]:
        """Take the unsequenced messages queued for this peer."""
        out, self.direct = self.direct, []
        return out

    async def collect(self) -> list[str]:
        """Everything to send now: own replies first, then undelivered stream messages.

        A stream whose local history has a gap is filled from the shared store when one is in
        use; otherwise (or when the store has lost it too) the page is told to resynchronise.
        """
        if self.joining:
            early = self.replies() if self.direct else []
            await self._join(early)
            frames, gaps = self.gather()
            frames[:0] = early
        else:
            frames, gaps = self.gather()
        if gaps:
            await self.fill(frames, gaps)
        return frames

    def gather(self) -> tuple[list[str], list[int]]:
        """`collect` without waiting: own replies and what the local streams hold, and the
        streams whose history has a gap here (left for `fill`). A sender that is not joining
        the store calls this first and `fill` only for gaps, so the usual delivery is plain
        calls, no coroutine."""
        frames = self.replies() if self.direct else []
        cursor = self.cursor
        if not cursor.behind():
            return frames, []
        texts, gaps = cursor.take()
        frames.extend(texts)
        if not gaps and self.resuming:
            self.resuming = False
            self.app.metrics.replayed()
        return frames, gaps

    async def fill(self, frames: list[str], gaps: list[int]) -> None:
        """Fill the gapped streams from the shared store, else resynchronise or skip the page."""
        cursor = self.cursor
        resumed, self.resuming = self.resuming, False
        for index in gaps:
            fetched = await self.app.fetch_since(cursor.streams[index], cursor.position(index))
            if fetched is None:
                head = cursor.resync(index)
                if index == 0:
                    frames.append(self.app.resync_message(self.widget))
                    self.app.metrics.resynced()
                    resumed = False
                else:  # a page's or session's replies are gone: move the page past them
                    field = cursor.streams[index].field
                    frames.append(p.unsequenced("pywry:skip", {"field": field, "seq": head}))
            else:
                frames.extend(fetched)
                cursor.fill(index, fetched)
        if resumed:
            self.app.metrics.replayed()

    async def _join(self, frames: list[str]) -> None:
        """With a shared store, catch up on the page and session streams once, at the start.

        What was sent to this page while it was away (on another worker) is in the store, not
        here: fetch it. A stream joined "from now" starts at the store's head.
        """
        joining, self.joining = self.joining, {}
        cursor = self.cursor
        for index, from_now in joining.items():
            stream = cursor.streams[index]
            if from_now:
                head = await self.app.stream_head(stream)
                stream.advance(head)
                cursor.positions[index] = max(cursor.positions[index], head)
                frames.append(self._position(index))
                continue
            fetched = await self.app.fetch_since(stream, cursor.position(index))
            if fetched:
                frames.extend(fetched)
                cursor.fill(index, fetched)

    # -- what comes in ---------------------------------------------------------------------------
    async def receive_text(self, text: str) -> None:
        """Handle one text frame (or POST body) from the browser."""
        if self.closed:
            return
        refused = self.app.limits.take(self._buckets)
        if refused is not None:  # this page, this address or everyone on this widget sends too much
            log.info("closing %s on %r: %s", self.client, self.label, refused.detail)
            self.shut(p.CLOSE_POLICY)
            return
        try:
            msg = p.parse_incoming(text, self.app.settings.server.max_payload_size)
        except p.ProtocolError as exc:
            if exc.code == "too-big":
                log.info("closing %s on %r: %s", self.client, self.label, exc.detail)
                self.shut(p.CLOSE_TOO_BIG)
                return
            self.bad_frame(exc.detail)
            return
        self._holding = True
        try:
            if not await self.app.handle_event(self, msg):
                self.shut(p.CLOSE_RESTART)  # read nothing more: the page resends from here
        finally:
            self._holding = False
            if self.direct:
                self.wake.set()

    async def receive_bytes(self, data: bytes) -> None:
        """Binary frames are not part of the protocol."""
        if self.closed:
            return
        if len(data) > self.app.settings.server.max_payload_size:
            self.shut(p.CLOSE_TOO_BIG)
            return
        self.bad_frame("binary frames are not accepted; send JSON text")

    def bad_frame(self, detail: str) -> None:
        """Answer a malformed frame; too many within a minute close the peer."""
        log.info("bad frame from %s on %r: %s", self.client, self.label, detail)
        now = time.monotonic()
        bad = self._bad
        if bad is None:
            bad = self._bad = deque()
        bad.append(now)
        while bad and bad[0] < now - BAD_FRAME_WINDOW:
            bad.popleft()
        self.push(p.error("bad-message", detail))
        if len(bad) >= BAD_FRAME_LIMIT:
            self.shut(p.CLOSE_POLICY)

    # -- ending ----------------------------------------------------------------------------------
    def ended(self) -> None:
        """The transport is gone and the peer detached: wake whoever waits for that."""
        waiters, self._gone = self._gone, True
        if isinstance(waiters, list):
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    async def wait_ended(self) -> None:
        """Return once `ended` was called (an idle peer keeps no waiter list until asked)."""
        if self._gone is True:
            return
        if self._gone is False:
            self._gone = []
        assert isinstance(self._gone, list)
        fut = asyncio.get_running_loop().create_future()
        self._gone.append(fut)
        await fut

    def shut(self, code: int) -> None:
        """Ask the transport to close with `code` once what is queued has been sent."""
        if self.close_code is None:
            self.close_code = code
        self.closed = True
        self.wake.set()
