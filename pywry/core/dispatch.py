"""Callback dispatch: sync callbacks in a bounded thread pool, async ones on the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .events import Event, current
from .metrics import Metrics
from .protocol import Incoming, error
from .widgets import Callback, Widget

log = logging.getLogger("pywry.dispatch")

# A sync callback running longer than this may be blocking: a call queued behind it gets another
# pool thread (at once when it arrives, or from a timer this long after it was queued).
STUCK = 0.002


class Dispatcher:
    """Runs the callback registered for an event and turns its failure into `pywry:error`.

    A callback never kills the connection or the server: whatever it raises is logged with the
    widget, the event, the traceback and an error id, and answered to the browser that sent the
    event with that id. Exception text (DSNs, paths, SQL) reaches the browser only with `debug`.
    """

    def __init__(
        self, threads: int, metrics: Metrics | None = None, *, debug: bool = False
    ) -> None:
        self.threads = threads
        self.metrics = metrics or Metrics()
        self.debug = debug
        self._lane: _Lane | None = None
        self._lane_lock = threading.Lock()
        # weak keys: per-visitor widgets bring new closures all the time; they must not pile up
        self._is_async: weakref.WeakKeyDictionary[Callback, bool] = weakref.WeakKeyDictionary()
        self._wants_event: weakref.WeakKeyDictionary[Callback, bool] = weakref.WeakKeyDictionary()

    @property
    def lane(self) -> _Lane:
        """The queue and bounded pool for sync callbacks, created on first use."""
        lane = self._lane
        if lane is None:
            with self._lane_lock:
                lane = self._lane
                if lane is None:
                    lane = self._lane = _Lane(self.threads)
        return lane

    @property
    def pool(self) -> ThreadPoolExecutor:
        """The bounded pool for sync callbacks, created on first use."""
        return self.lane.pool

    def _async(self, fn: Callback) -> bool:
        return _remembered(self._is_async, fn, _is_coroutine_function)

    def wants_event(self, fn: Callback) -> bool:
        """True when `fn` takes a fourth parameter (the event being handled)."""
        return _remembered(self._wants_event, fn, _takes_four)

    def forward(
        self, fn: Callback, data: Any, event_type: str, label: str, rest: tuple[Any, ...]
    ) -> Any:
        """Call `fn` from a wrapping callback: with the event (`rest`) only when it takes one.

        A wrapper declares `*rest` so it is handed the event, and passes it on through here.
        """
        if rest and self.wants_event(fn):
            return fn(data, event_type, label, *rest)
        return fn(data, event_type, label)

    def is_async(self, fn: Callback) -> bool:
        """True for an `async def` callback (it runs on the loop)."""
        return self._async(fn)

    def find(self, widget: Widget, kind: str) -> Callback | None:
        """The callback for `kind` on `widget` (a `*` callback catches every event)."""
        callbacks = widget.callbacks
        return callbacks.get(kind) or callbacks.get("*")

    async def run(
        self,
        widget: Widget,
        msg: Incoming,
        reply: Callable[[str], None],
        event: Event | None = None,
    ) -> bool:
        """Run the callback for `msg` with `event` as the current event.

        Returns False when the widget has no callback for it.
        """
        fn = self.find(widget, msg.type)
        if fn is None:
            # worth knowing when a callback "never runs": the page sent an event nobody handles
            log.debug("no callback for event %r on widget %r; ignored", msg.type, widget.label)
            return False
        args: tuple[Any, ...] = (msg.data, msg.type, widget.label)
        if event is not None and self.wants_event(fn):
            args += (event,)
        started = time.monotonic()
        failed = False
        try:
            if self._async(fn):
                token = current.set(event)
                try:
                    await fn(*args)
                finally:
                    current.reset(token)
            else:
                ctx = contextvars.copy_context()
                ctx.run(current.set, event)
                result: Any = await self._in_pool(fn, args, ctx)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:  # noqa: BLE001 - any callback failure is reported, never raised
            failed = True
            reply(self._failure(widget, msg, exc))
        finally:
            self.metrics.callback(time.monotonic() - started, failed)
        return True

    def _failure(self, widget: Widget, msg: Incoming, exc: Exception) -> str:
        """Log a callback's failure under a new error id; the `pywry:error` for its sender."""
        error_id = secrets.token_hex(6)
        log.error(
            "callback for event %r on widget %r raised %s (error id %s)",
            msg.type,
            widget.label,
            type(exc).__name__,
            error_id,
            exc_info=exc,
        )
        detail = f"the callback failed; the server log has its details under error id {error_id}"
        if self.debug:
            detail = f"{type(exc).__name__}: {exc} (error id {error_id})"
        return error("callback-error", detail, event=msg.type, id=msg.id, errorId=error_id)

    async def _in_pool(
        self, fn: Callback, args: tuple[Any, ...], ctx: contextvars.Context | None = None
    ) -> Any:
        """Run `fn(*args)` on a pool thread (in `ctx`) and return its result or raise."""
        loop = asyncio.get_running_loop()
        call = _Call(fn, args, loop, loop.create_future(), ctx)
        self.lane.put(call)
        try:
            return await call.fut
        except asyncio.CancelledError:
            call.dropped = True  # not started yet: it never will be
            raise

    def shutdown(self) -> None:
        """Stop the pool without waiting for running callbacks; queued ones are cancelled."""
        with self._lane_lock:
            lane, self._lane = self._lane, None
        if lane is not None:
            lane.close()


@dataclass(slots=True, eq=False)
class _Call:
    """One sync callback waiting for (or running on) a pool thread."""

    fn: Callback
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    fut: asyncio.Future[Any]
    ctx: contextvars.Context | None = None
    dropped: bool = False


class _Lane:
    """Sync callbacks in arrival order, run by as few pool threads as keep up with them.

    A `ThreadPoolExecutor` wakes one of its threads per call, so N calls in flight make N threads
    fight over the GIL, and every call pays for a thread wake-up. Here calls go to a queue that
    "drainers" (loops running in the pool) empty one call after another: a drainer that finishes
    a call takes the next without sleeping, so calls that pile up share one wake-up. Another
    drainer (up to `threads`) starts only when every drainer is inside a call that has run longer
    than `STUCK`, so a blocking callback still never holds up the others by more than that.
    """

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="pywry-callback")
        self.lock = threading.Lock()
        self.queue: deque[_Call] = deque()
        self.drainers = 0  # submitted to the pool and not finished
        # drainer -> when its current call started (0.0 between calls); keys only change under
        # `lock`, so `_all_stuck` can iterate while drainers update their own entry
        self.running: dict[int, float] = {}
        self.armed = False  # a `STUCK` timer is pending
        self.closed = False
        self._ids = 0

    def _all_stuck(self) -> bool:
        """True when no drainer will be free soon (none at all, or each in a long call)."""
        if self.drainers == 0:
            return True
        if len(self.running) < self.drainers:
            return False  # one is between calls or about to start: it will take the next
        cutoff = time.monotonic() - STUCK
        return all(0.0 < started < cutoff for started in self.running.values())

    def put(self, call: _Call) -> None:
        """Queue a call (on the loop thread) and make sure a drainer will run it."""
        start = arm = False
        with self.lock:
            self.queue.append(call)
            if self.drainers < self.threads and self._all_stuck():
                self.drainers += 1
                self._ids += 1
                start = True
            elif not self.armed:
                self.armed = arm = True
        if start:
            self._submit(self._ids)
        if arm:
            call.loop.call_later(STUCK, self._rescue, call.loop)

    def _submit(self, ident: int) -> None:
        try:
            self.pool.submit(self._drain, ident)
        except RuntimeError:  # the pool was shut down meanwhile
            with self.lock:
                self.drainers -= 1
            raise

    def _rescue(self, loop: asyncio.AbstractEventLoop) -> None:
        """Calls wait while every drainer is stuck in a long call: start one for each of them."""
        idents: list[int] = []
        with self.lock:
            self.armed = False
            if self.closed or not self.queue:
                return
            if self._all_stuck():
                for _ in range(min(len(self.queue), self.threads - self.drainers)):
                    self.drainers += 1
                    self._ids += 1
                    idents.append(self._ids)
            self.armed = True
        for ident in idents:
            self._submit(ident)
        loop.call_later(STUCK, self._rescue, loop)

    def _drain(self, ident: int) -> None:
        """Run queued calls until the queue is empty (on a pool thread)."""
        queue, running, lock = self.queue, self.running, self.lock
        while True:
            with lock:
                if not queue:
                    running.pop(ident, None)
                    self.drainers -= 1
                    return
                call = queue.popleft()
                running[ident] = time.monotonic()
            if call.dropped:
                continue
            try:
                ctx = call.ctx
                result = call.fn(*call.args) if ctx is None else ctx.run(call.fn, *call.args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                running[ident] = 0.0
                _hand_over(call.loop, call.fut, None, exc)
            else:
                running[ident] = 0.0
                _hand_over(call.loop, call.fut, result, None)

    def close(self) -> None:
        """Cancel queued calls and stop the pool without waiting for running ones."""
        with self.lock:
            self.closed = True
            pending = list(self.queue)
            self.queue.clear()
        for call in pending:
            _hand_over(call.loop, call.fut, _CANCELLED, None)
        self.pool.shutdown(wait=False, cancel_futures=True)


_CANCELLED = object()


def _settle(fut: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if fut.done():  # the awaiting task was cancelled meanwhile
        return
    if exc is not None:
        fut.set_exception(exc)
    elif result is _CANCELLED:
        fut.cancel()
    else:
        fut.set_result(result)


def _hand_over(
    loop: asyncio.AbstractEventLoop,
    fut: asyncio.Future[Any],
    result: Any,
    exc: BaseException | None,
) -> None:
    """Resolve `fut` on its loop from a worker thread; a closed loop means nobody waits."""
    try:
        loop.call_soon_threadsafe(_settle, fut, result, exc)
    except RuntimeError:
        pass


def _takes_four(fn: Callback) -> bool:
    """Whether `fn` accepts a fourth positional argument."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: the classic three
        return False
    count = 0
    for param in params:
        if param.kind is param.VAR_POSITIONAL:
            return True
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            count += 1
    return count >= 4


def _is_coroutine_function(fn: Callback) -> bool:
    """An `async def` function, or an object with an `async def __call__`."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an async __call__ method
    )


def _remembered(
    cache: weakref.WeakKeyDictionary[Callback, bool],
    fn: Callback,
    work_out: Callable[[Callback], bool],
) -> bool:
    """`work_out(fn)`, remembered per callback (worked out each time for one that cannot be
    weakly referenced)."""
    try:
        known = cache.get(fn)
    except TypeError:
        return work_out(fn)
    if known is None:
        known = cache[fn] = work_out(fn)
    return known
