"""What pywry knows about the request being handled: where its routes live, and whether widgets
shown now belong to one visitor.

Three sources, first match wins:

1. pywry's own apps set `current` while they answer (page factories, pages, callbacks);
2. adapters register a probe with the app for what their framework can tell (Flask's request
   context, Django's per-request URLconf), so no middleware is needed;
3. otherwise the call stack decides (`call_site`): code in the script's own flow shows
   module-level widgets; code in a server's request task or worker thread per-visitor ones.

Code that an import is running is always module level, even when the import happens while a
request is handled (Django imports the URLconf, and the views with it, on the first request).
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

from .users import User


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A request being handled: the base path of pywry's routes for it, and its transports.

    `base` None means "not known here" (the app's default applies); `websocket` False means the
    host serves no WebSockets, so pages rendered now offer the bridge only the HTTP stream.
    """

    base: str | None = None
    websocket: bool | None = None
    owner: object | None = None  # the App whose own route set this (None: a host route)
    session: str = ""  # the visitor's session, when the request carried one
    user: User | None = None  # the signed-in user of the request, when known
    address: str = ""  # the client's address as the server saw it, when known (limits)


Probe = Callable[[], RequestInfo | None]

current: ContextVar[RequestInfo | None] = ContextVar("pywry_request", default=None)


@contextmanager
def request_scope(
    owner: object,
    base: str | None,
    websocket: bool | None,
    session: str = "",
    user: User | None = None,
    address: str = "",
) -> Iterator[None]:
    """Mark the code inside as handling a request of `owner` served under `base`."""
    token = current.set(RequestInfo(base, websocket, owner, session, user, address))
    try:
        yield
    finally:
        current.reset(token)


MODULE = "module"  # an import is running: module level, whatever else is going on
SCRIPT = "script"  # the program's own flow (a script body, the main thread or main task)
REQUEST = "request"  # a server's worker thread or request task


def call_site() -> str:
    """Where the caller runs: MODULE, SCRIPT or REQUEST, read from the call stack.

    Walking up from the caller, a module body that an import is running is MODULE; any other
    module body (the script itself, `python -m`, a notebook cell) is SCRIPT. In an asyncio task
    that a server started (not the loop's main task, the one `asyncio.run` waits for), reaching
    the task's own outermost coroutine first is REQUEST. Without a loop, a thread other than
    the main thread is a server's worker thread: REQUEST.
    """
    frame: FrameType | None = sys._getframe(1)
    task = _current_task()
    root = None
    if task is not None and not _is_main_task(task):
        root = getattr(task.get_coro(), "cr_frame", None)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            below = frame.f_back
            importing = below is not None and below.f_code.co_filename.startswith(
                "<frozen importlib"
            )
            return MODULE if importing else SCRIPT
        if root is not None and frame is root:
            return REQUEST
        frame = frame.f_back
    if task is not None:
        return SCRIPT if root is None else REQUEST
    return SCRIPT if threading.current_thread() is threading.main_thread() else REQUEST


def handling_request() -> bool:
    """True when the call stack alone says the caller handles a request (see `call_site`)."""
    return call_site() == REQUEST


def _current_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return None


# The done callbacks `run_until_complete` adds (asyncio's and uvloop's) mark the main task.
_MAIN_TASK_CALLBACKS = frozenset({"_run_until_complete_cb", "done_cb"})


def _is_main_task(task: asyncio.Task[object]) -> bool:
    callbacks = getattr(task, "_callbacks", None) or ()
    return any(getattr(cb, "__name__", "") in _MAIN_TASK_CALLBACKS for cb, *_ in callbacks)
