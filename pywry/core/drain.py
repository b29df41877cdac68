"""SIGTERM drains a worker before its server stops.

A server such as uvicorn stops on SIGTERM at once: it closes its listening socket, fails open
WebSockets and cancels what runs past its grace period. pywry puts its drain first
(`App.drain`: new requests get 503, sockets close with 1012 so their pages reconnect to another
worker, callbacks in flight finish) and then hands the signal to the server's own handler.
Another SIGTERM during the drain changes nothing (a service manager and uvicorn's supervisor may
both send one); SIGINT, the server's own, or SIGKILL stops at once.

Installed from the ASGI lifespan, in the main thread, over a Python-level SIGTERM handler only
(the one uvicorn installs); a server that handles signals otherwise keeps its own behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("pywry")


def drain_on_sigterm(app: App) -> bool:
    """Make SIGTERM drain `app` before the server's handler runs; returns whether it was set up."""
    if threading.current_thread() is not threading.main_thread():
        return False
    server_handler = signal.getsignal(signal.SIGTERM)
    if not callable(server_handler) or getattr(server_handler, "pywry_drain", False):
        return False
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def stop(signum: int, frame: FrameType | None) -> None:
        server_handler(signum, frame)

    async def drain_then_stop(signum: int) -> None:
        try:
            await app.drain()
        except Exception:  # noqa: BLE001 - the server must stop whatever happened
            log.exception("draining failed")
        stop(signum, None)

    def begin(signum: int) -> None:
        if tasks:
            return
        task = loop.create_task(drain_then_stop(signum))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if loop.is_closed():
            stop(signum, frame)
        elif not tasks and not app.draining:
            loop.call_soon_threadsafe(begin, signum)  # wakes the loop out of its wait

    marked: Any = on_sigterm
    marked.pywry_drain = True
    signal.signal(signal.SIGTERM, on_sigterm)
    return True
