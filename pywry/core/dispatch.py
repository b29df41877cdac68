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
                loop = asyncio.get_running_loop()
                result: Any = await loop.run_in_executor(
                    self.pool, fn, msg.data, msg.type, widget.label
                )
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

    def shutdown(self) -> None:
        """Stop the pool without waiting for running callbacks."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
