"""Callback dispatch: sync callbacks in a bounded thread pool, async ones on the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import queue
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
        # callback -> (is async, takes the event); entries go with their callback, since
        # per-visitor widgets bring new closures all the time and they must not pile up
        self._facts: dict[int, tuple[weakref.ref[Any], bool, bool]] = {}

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

    def facts(self, fn: Callback) -> tuple[bool, bool]:
        """(is an `async def`, takes a fourth parameter: the event) of `fn`, worked out once."""
        key = id(fn)
        known = self._facts.get(key)
        if known is not None and known[0]() is fn:
            return known[1], known[2]
        found = _is_coroutine_function(fn), _takes_four(fn)
        try:
            ref = weakref.ref(fn, functools.partial(_forget, self._facts, key))
        except TypeError:  # cannot be weakly referenced: worked out each time
            return found
        self._facts[key] = (ref, *found)
        return found

    def wants_event(self, fn: Callback) -> bool:
        """True when `fn` takes a fourth parameter (the event being handled)."""
        return self.facts(fn)[1]

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
        return self.facts(fn)[0]

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
            self.ignored(widget, msg.type)
            return False
        await self.call(fn, widget, msg, reply, event)
        return True

    def ignored(self, widget: Widget, kind: str) -> None:
        """Worth knowing when a callback "never runs": the page sent an event nobody handles."""
        log.debug("no callback for event %r on widget %r; ignored", kind, widget.label)

    async def call(
        self,
        fn: Callback,
        widget: Widget,
        msg: Incoming,
        reply: Callable[[str], None],
        event: Event | None = None,
    ) -> None:
        """`run` for the callback already found."""
        is_async, wants_event = self.facts(fn)
        args: tuple[Any, ...] = (msg.data, msg.type, widget.label)
        if event is not None and wants_event:
            args += (event,)
        started = time.monotonic()
        failed = False
        try:
            if is_async:
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

    def hold(self, wake: Callable[..., None], *args: Any) -> bool:
        """Inside a sync callback of this dispatcher, keep `wake(*args)` for its completion.

        The callback's result goes to the loop anyway: what its emits want woken rides on
        that one hand-over instead of costing a loop wake-up of its own. False (the caller
        wakes now) outside such a callback, or once it has run past `STUCK`.
        """
        lane = self._lane
        if lane is None:
            return False
        call: _Call | None = getattr(lane.local, "call", None)
        if call is None:
            return False
        with lane.lock:
            if not call.holding:
                return False
            if call.held is None:
                call.held = []
            call.held.append((wake, args))
        return True

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
    # wake-ups its emits asked for while it ran (`Dispatcher.hold`): they ride on its completion
    held: list[tuple[Callable[..., None], tuple[Any, ...]]] | None = None
    holding: bool = True  # False once it ran past `STUCK` or finished: wake-ups go at once


class _Lane:
    """Sync callbacks in arrival order, run by as few threads as keep up with them.

    A `ThreadPoolExecutor` wakes one of its threads per call, so N calls in flight make N threads
    fight over the GIL, and every call pays for a future, a work item and the wake-up of
    whichever idle thread the kernel picks. Here calls go to a queue that "drainers" empty one
    call after another: a drainer that finishes a call takes the next without sleeping, so calls
    that pile up share one wake-up. The first drainer is the lane's own thread, asleep on a
    `SimpleQueue` between bursts (the cheapest hand-over CPython has, and always the same warm
    thread). Another drainer, from the pool (up to `threads` in all), starts only when every
    drainer is inside a call that has run longer than `STUCK`, so a blocking callback still never
    holds up the others by more than that.
    """

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.pool = ThreadPoolExecutor(max(1, threads - 1), thread_name_prefix="pywry-callback")
        self.lock = threading.Lock()
        self.queue: deque[_Call] = deque()
        self.drainers = 0  # draining now or about to (the home thread included)
        # drainer -> when its current call started (0.0 between calls); keys only change under
        # `lock`, so `_all_stuck` can iterate while drainers update their own entry
        self.running: dict[int, float] = {}
        self.current: dict[int, _Call] = {}  # drainer -> the call it runs now
        self.armed = False  # the lane's `STUCK` timer is pending
        self.closed = False
        self._ids = 0
        self.local = threading.local()  # .call: the call this thread runs now
        self._home_busy = False  # the home thread is draining (or was told to)
        self._bell: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: drain, False: stop
        self._home = threading.Thread(target=self._home_loop, name="pywry-callback", daemon=True)
        self._home.start()

    def _home_loop(self) -> None:
        """The lane's own thread: drain whenever rung, until told to stop."""
        bell = self._bell
        while bell.get():
            self._drain(0)

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
        ring = start = arm = False
        with self.lock:
            self.queue.append(call)
            if not self._home_busy:
                self._home_busy = ring = True
                self.drainers += 1
            elif self.drainers < self.threads and self._all_stuck():
                self.drainers += 1
                self._ids += 1
                start = True
            if not self.armed:  # one timer for the lane while calls run, not one per call
                self.armed = arm = True
        if ring:
            self._bell.put(True)
        elif start:
            self._submit(self._ids)
        if arm:
            call.loop.call_later(STUCK, self._tick, call.loop)

    def _submit(self, ident: int) -> None:
        try:
            self.pool.submit(self._drain, ident)
        except RuntimeError:  # the pool was shut down meanwhile
            with self.lock:
                self.drainers -= 1
            raise

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        """Every `STUCK` while calls run (on the loop): what a long call held is woken now,
        and calls waiting while every drainer is stuck in a long call get drainers of their own.
        """
        idents: list[int] = []
        released: list[list[tuple[Callable[..., None], tuple[Any, ...]]] | None] = []
        with self.lock:
            self.armed = False
            if self.closed:
                return
            cutoff = time.monotonic() - STUCK
            for ident, call in self.current.items():
                if call.holding and 0.0 < self.running.get(ident, 0.0) < cutoff:
                    call.holding = False  # its later emits wake at once
                    released.append(call.held)
                    call.held = None
            if self.queue and self._all_stuck():
                for _ in range(min(len(self.queue), self.threads - self.drainers)):
                    self.drainers += 1
                    self._ids += 1
                    idents.append(self._ids)
            busy = bool(self.queue or self.drainers)
            self.armed = busy
        for held in released:
            _wake_all(held)
        for ident in idents:
            self._submit(ident)
        if busy:
            loop.call_later(STUCK, self._tick, loop)

    def _drain(self, ident: int) -> None:
        """Run queued calls until the queue is empty (on the home thread or a pool thread)."""
        pending, running, lock, local = self.queue, self.running, self.lock, self.local
        current = self.current
        while True:
            with lock:
                if not pending:
                    running.pop(ident, None)
                    self.drainers -= 1
                    if ident == 0:
                        self._home_busy = False
                    return
                call = pending.popleft()
                if call.dropped:  # its task was cancelled before it started
                    continue
                running[ident] = time.monotonic()
                current[ident] = call
            local.call = call
            result: Any = None
            failure: BaseException | None = None
            try:
                ctx = call.ctx
                result = call.fn(*call.args) if ctx is None else ctx.run(call.fn, *call.args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                failure = exc
            local.call = None
            with lock:
                running[ident] = 0.0
                del current[ident]
                call.holding = False
                held, call.held = call.held, None
            _hand_over(call.loop, call.fut, result, failure, held)

    def close(self) -> None:
        """Cancel queued calls and stop the threads without waiting for running ones."""
        with self.lock:
            self.closed = True
            pending = list(self.queue)
            self.queue.clear()
        for call in pending:
            _hand_over(call.loop, call.fut, _CANCELLED, None)
        self._bell.put(False)
        self.pool.shutdown(wait=False, cancel_futures=True)


_CANCELLED = object()


def _wake_all(held: list[tuple[Callable[..., None], tuple[Any, ...]]] | None) -> None:
    for wake, args in held or ():
        try:
            wake(*args)
        except Exception:  # noqa: BLE001 - one failed wake-up must not stop the others
            log.exception("waking the pages of an emit failed")


def _settle(
    fut: asyncio.Future[Any],
    result: Any,
    exc: BaseException | None,
    held: list[tuple[Callable[..., None], tuple[Any, ...]]] | None = None,
) -> None:
    _wake_all(held)  # the callback's emits go out first, then its task goes on
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
    held: list[tuple[Callable[..., None], tuple[Any, ...]]] | None = None,
) -> None:
    """Resolve `fut` on its loop from a worker thread; a closed loop means nobody waits."""
    try:
        loop.call_soon_threadsafe(_settle, fut, result, exc, held)
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


def _forget(facts: dict[int, Any], key: int, ref: weakref.ref[Any]) -> None:
    """A callback went: drop what was known of it (unless its id is already another's)."""
    known = facts.get(key)
    if known is not None and known[0] is ref:
        del facts[key]
