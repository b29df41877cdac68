"""What pywry knows about the request being handled: where its routes live, and whether widgets
shown now belong to one visitor.

Three sources, first match wins:

1. pywry's own apps set `current` while they answer (page factories, pages, callbacks);
2. adapters register a probe with the app for what their framework can tell (Flask's request
   context, Django's per-request URLconf), so no middleware is needed;
3. otherwise the call stack decides (`handling_request`): code running at import time, or in the
   script's main thread outside any request, shows module-level widgets; code running in a
   server's request task or worker thread shows per-visitor ones.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import FrameType


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A request being handled: the base path of pywry's routes for it, and its transports.

    `base` None means "not known here" (the app's default applies); `websocket` False means the
    host serves no WebSockets, so pages rendered now offer the bridge only the HTTP stream.
    """

    base: str | None = None
    websocket: bool | None = None
    owner: object | None = None  # the App whose own route set this (None: a host route)


Probe = Callable[[], RequestInfo | None]

current: ContextVar[RequestInfo | None] = ContextVar("pywry_request", default=None)


@contextmanager
def request_scope(owner: object, base: str | None, websocket: bool | None) -> Iterator[None]:
    """Mark the code inside as handling a request of `owner` served under `base`."""
    token = current.set(RequestInfo(base, websocket, owner))
    try:
        yield
    finally:
        current.reset(token)


def handling_request() -> bool:
    """True when the caller runs inside a server's request handling (not at import time).

    Walks the stack from the caller: a module body (`<module>`, an import or the script itself)
    means module level. In an asyncio task, reaching the task's own outermost coroutine first
    means a request (or callback) task. Without a loop, a thread that is not the main thread
    is a server's worker thread.
    """
    frame: FrameType | None = sys._getframe(1)
    root = _task_root()
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            return False
        if root is not None and frame is root:
            return True
        frame = frame.f_back
    return threading.current_thread() is not threading.main_thread()


def _task_root() -> FrameType | None:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return None
    if task is None:
        return None
    coro = task.get_coro()
    return getattr(coro, "cr_frame", None)
