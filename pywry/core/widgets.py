"""Widget records and the in-process registry that every adapter of the process shares."""

from __future__ import annotations

import inspect
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .limits import Refusal
from .outbox import Outbox
from .protocol import check_event_name
from .tokens import new_token

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")

Callback = Callable[..., Any]


class WidgetLimitError(RuntimeError):
    """Raised when no widget can be made now: the process holds MAX_WIDGETS (503), or the
    address asking made too many per-visitor widgets this minute (429). `refusal` is the answer.
    """

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


def check_label(label: object) -> str:
    """Return `label` if usable in a URL path segment, else raise ValueError naming it."""
    if not isinstance(label, str) or not LABEL.match(label):
        raise ValueError(
            f"label {label!r} must be 1-128 characters of letters, digits, '_', '.' or '-' "
            "and start with a letter or digit"
        )
    return label


def check_callbacks(callbacks: dict[str, Callback] | None) -> dict[str, Callback]:
    """Validate a `{event: callable}` mapping; the error names the offending entry."""
    if callbacks is None:
        return {}
    if not isinstance(callbacks, dict):
        raise TypeError(f"callbacks must be a dict of event name -> callable, not {callbacks!r}")
    for name, fn in callbacks.items():
        if name != "*":
            check_event_name(name)
        if not callable(fn):
            raise TypeError(f"callback for {name!r} is not callable: {fn!r}")
        check_signature(name, fn)
    return dict(callbacks)


def check_signature(name: str, fn: Callback) -> None:
    """Refuse a callback that cannot be called as `fn(data, event_type, label)` (nor with the
    event as a fourth argument): said once, at `show()`, instead of failing on every event."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to read (some builtins): the call will tell
        return
    for count in (3, 4):
        try:
            sig.bind(*range(count))
        except TypeError:
            continue
        return
    shown = getattr(fn, "__name__", None) or type(fn).__name__
    raise TypeError(
        f"callback for {name!r}: {shown}{sig} cannot be called as "
        f"{shown}(data, event_type, label); a callback takes those three positional "
        "parameters (and may take the event as a fourth)"
    )


@dataclass(eq=False)
class Widget:
    """Everything the server knows about one widget.

    `content` is the author's HTML (body part), `head` extra tags for <head>. `state` holds
    kind-specific data (a Plotly figure, a grid's query) that pages rendered later must reflect.
    """

    label: str
    content: str
    outbox: Outbox
    title: str = "PyWry"
    token: str = field(default_factory=new_token)
    callbacks: dict[str, Callback] = field(default_factory=dict)
    head: str = ""
    kind: str = "html"
    theme: str | None = None
    per_visitor: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    connections: int = 0
    ever_connected: bool = False
    last_disconnect: float = 0.0
    closed: bool = False
    owner: str = ""  # the worker holding the callbacks (shared backends)
    session: str = ""  # a per-visitor widget's session (set when made, or at its first peer)
    roles: tuple[str, ...] = ()  # with access control on: users need one of these
    user: str = ""  # with access control on: the only user a per-visitor widget is for
    access: Callable[[Any], bool] | None = None  # with access control on: user -> allowed
    remote: bool = False  # a copy of a widget another worker registered
    changed: Callable[[], None] | None = None  # set by the engine: content/theme changed
    page_cache: tuple[tuple[Any, ...], str] | None = None  # the last rendered page and its key
    lock: threading.RLock = field(default_factory=threading.RLock)

    def touch(self) -> None:
        """Mark the widget as in use (refreshes its TTL)."""
        self.last_used = time.monotonic()


_REPLACEABLE = (
    "content",
    "title",
    "callbacks",
    "head",
    "kind",
    "theme",
    "per_visitor",
    "state",
    "owner",
    "remote",
    "roles",
    "user",
    "access",
)


class Registry:
    """Label -> Widget, thread-safe, bounded by MAX_WIDGETS."""

    def __init__(self, max_widgets: int, retry_after: int = 30) -> None:
        self._widgets: dict[str, Widget] = {}
        self._lock = threading.Lock()
        self.max_widgets = max_widgets
        self.retry_after = retry_after  # when full: by then unclaimed widgets have gone

    def get(self, label: str) -> Widget | None:
        """The live widget called `label`, if any."""
        return self._widgets.get(label)

    def put(self, widget: Widget) -> Widget:
        """Add a widget, or update the live one of the same label (keeping token, seq, pages).

        Keeping them makes `show(label=...)` idempotent: a module re-run (or another worker
        running the same module) does not invalidate pages that are already open.
        """
        with self._lock:
            old = self._widgets.get(widget.label)
            if old is None and len(self._widgets) >= self.max_widgets:
                detail = (
                    f"this process already holds {self.max_widgets} widgets "
                    "(PYWRY_SERVER__MAX_WIDGETS); try again later"
                )
                raise WidgetLimitError(Refusal(503, "too-many-widgets", detail, self.retry_after))
            if old is not None and not old.closed:
                # Update in place: open connections hold this record and must see the new
                # callbacks and content.
                with old.lock:
                    for name in _REPLACEABLE:
                        setattr(old, name, getattr(widget, name))
                    old.touch()
                return old
            self._widgets[widget.label] = widget
            return widget

    def remove(self, label: str) -> Widget | None:
        """Forget a widget; returns it (closed) or None."""
        with self._lock:
            widget = self._widgets.pop(label, None)
        if widget is not None:
            widget.closed = True
        return widget

    def all(self) -> list[Widget]:
        """A snapshot of every widget."""
        with self._lock:
            return list(self._widgets.values())

    def __len__(self) -> int:
        return len(self._widgets)

    def __contains__(self, label: object) -> bool:
        return label in self._widgets
