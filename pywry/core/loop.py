"""The event loop an app runs its connections, housekeeping and shared state on.

Under an async server that is the server's loop, bound by the first request (or lifespan).
Under a WSGI server (Flask, Django under WSGI) there is none, so the app starts a private loop
in a daemon thread the first time it needs one, and request threads hand coroutines to it.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from .http import finish

T = TypeVar("T")


class AppLoop:
    """Which loop the app uses, and how code on other threads or loops reaches it."""

    def __init__(self, on_bind: Callable[[asyncio.AbstractEventLoop], None]) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: int | None = None
        self._on_bind = on_bind
        self._lock = threading.Lock()
        self._private: tuple[asyncio.AbstractEventLoop, threading.Thread, int] | None = None

    def bind(self) -> None:
        """Adopt the running loop (cheap when it is already the app's)."""
        loop = asyncio.get_running_loop()
        if loop is self.loop:
            return
        with self._lock:
            if loop is self.loop:
                return
            self.loop = loop
            self.thread = threading.get_ident()
            self._on_bind(loop)

    def unbind(self) -> None:
        """Forget the loop (the server stopped)."""
        self.loop = None
        self.thread = None

    def on_loop(self) -> bool:
        """True on the app's loop thread."""
        return self.thread is not None and threading.get_ident() == self.thread

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the loop: now when already there, else soon; no loop, nothing."""
        loop = self.loop
        if loop is None:
            return
        if threading.get_ident() == self.thread:
            fn(*args)
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed: the server stopped
            pass

    def ensure(self) -> asyncio.AbstractEventLoop:
        """The app's running loop; without one, a private loop in a daemon thread."""
        loop = self.loop
        if loop is not None and loop.is_running():
            return loop
        with self._lock:
            loop = self.loop
            if loop is not None and loop.is_running():
                return loop
            known = self._private
            if known is not None and known[2] == os.getpid() and known[1].is_alive():
                return known[0]
            private = _new_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(private)

                def bind() -> None:
                    try:
                        self.bind()
                    finally:
                        ready.set()

                private.call_soon(bind)
                private.run_forever()

            thread = threading.Thread(target=run, name="pywry-loop", daemon=True)
            self._private = (private, thread, os.getpid())
            thread.start()  # under the lock: a second caller must find it alive, not start another
        ready.wait(10)
        return private

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the app's loop from a thread that is not on it; wait for it."""
        future = asyncio.run_coroutine_threadsafe(coro, self.ensure())
        return future.result(timeout)

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine on the app's loop from any loop (no hop when already there)."""
        if self.loop is None or not self.loop.is_running():
            self.bind()
        target = self.loop
        if target is None or target is asyncio.get_running_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, target))

    def iterate(self, chunks: AsyncIterator[bytes]) -> Iterator[bytes]:
        """A blocking iterator over an async one that runs on the app's loop (WSGI bodies).

        One task on the loop drains `chunks` into a queue that the server's thread reads, so a
        chunk costs one wake-up of that thread and nothing on the loop beyond producing it.
        """
        loop = self.ensure()
        out: queue.SimpleQueue[bytes | None | BaseException] = queue.SimpleQueue()

        async def pump() -> None:
            try:
                async for chunk in chunks:
                    out.put(chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                out.put(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            else:
                out.put(None)
            finally:
                await finish(chunks)

        task = asyncio.run_coroutine_threadsafe(pump(), loop)
        try:
            while True:
                item = out.get()
                if item is None or isinstance(item, asyncio.CancelledError):
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            task.cancel()  # the browser left early: end the stream on the loop

    async def relay(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """An async iterator for another loop over one that runs on the app's loop."""
        try:
            while True:
                chunk = await self.run_async(_next(chunks))
                if chunk is None:
                    return
                yield chunk
        finally:
            await self.run_async(finish(chunks))


def _new_loop() -> asyncio.AbstractEventLoop:
    """A loop for the private thread: uvloop's when installed (its thread hand-overs and
    callbacks cost a fraction of asyncio's), else asyncio's."""
    try:
        import uvloop  # noqa: PLC0415 - optional: comes with uvicorn[standard]
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None
