"""Callback dispatch: sync callbacks in a bounded thread pool, async ones on the event loop."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .protocol import Incoming, error
from .widgets import Callback, Widget

log = logging.getLogger("pywry.dispatch")


class Dispatcher:
    """Runs the callback registered for an event and turns its failure into `pywry:error`.

    A callback never kills the connection or the server: whatever it raises is logged with the
    widget and event, and answered to the browser that sent the event.
    """

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._is_async: dict[Callback, bool] = {}

    @property
    def pool(self) -> ThreadPoolExecutor:
        """The bounded pool for sync callbacks, created on first use."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="pywry-callback")
        return self._pool

    def _async(self, fn: Callback) -> bool:
        known = self._is_async.get(fn)
        if known is None:
            known = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
                getattr(fn, "__call__", None)
            )
            self._is_async[fn] = known
        return known

    def find(self, widget: Widget, kind: str) -> Callback | None:
        """The callback for `kind` on `widget` (a `*` callback catches every event)."""
        callbacks = widget.callbacks
        return callbacks.get(kind) or callbacks.get("*")

    async def run(self, widget: Widget, msg: Incoming, reply: Callable[[str], None]) -> bool:
        """Run the callback for `msg`; returns False when the widget has none for it."""
        fn = self.find(widget, msg.type)
        if fn is None:
            return False
        try:
            if self._async(fn):
                await fn(msg.data, msg.type, widget.label)
            else:
                result: Any = await self._in_pool(fn, msg.data, msg.type, widget.label)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:  # noqa: BLE001 - any callback failure is reported, never raised
            log.error(
                "callback for event %r on widget %r raised %s",
                msg.type,
                widget.label,
                type(exc).__name__,
                exc_info=True,
            )
            reply(
                error(
                    "callback-error",
                    f"{type(exc).__name__}: {exc}",
                    event=msg.type,
                    id=msg.id,
                )
            )
        return True

    async def _in_pool(self, fn: Callback, *args: Any) -> Any:
        """`loop.run_in_executor(self.pool, fn, *args)` with one hop back instead of a chain.

        The worker hands the outcome straight to the loop (`call_soon_threadsafe`) instead of
        going through a `concurrent.futures.Future` chained to an asyncio one; cancelling the
        awaiting task still cancels a call that has not started, and a call cancelled by
        `shutdown` still cancels the awaiting task.
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()

        def work() -> None:
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                _hand_over(loop, fut, None, exc)
            else:
                _hand_over(loop, fut, result, None)

        def cancelled(done: Any) -> None:
            if done.cancelled():  # `shutdown` dropped it before it ran
                _hand_over(loop, fut, _CANCELLED, None)

        call = self.pool.submit(work)
        call.add_done_callback(cancelled)
        try:
            return await fut
        except asyncio.CancelledError:
            call.cancel()
            raise

    def shutdown(self) -> None:
        """Stop the pool without waiting for running callbacks."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


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
