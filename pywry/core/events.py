"""The event being handled: who sent it, their session, and where a reply goes.

`current_event()` is the event whose callback is running (also the optional fourth callback
parameter). It follows the callback into asyncio tasks it starts (a context variable), not into
threads it starts by hand: pass what such a thread needs, or use `contextvars.copy_context()`.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .kinds import kind_named
from .sessions import Session
from .users import User

if TYPE_CHECKING:
    from .app import App
    from .widgets import Widget

ALL = "all"
SESSION = "session"
SENDER = "sender"
AUDIENCES = (ALL, SESSION, SENDER)


class Event:
    """One browser event, as its callback sees it."""

    __slots__ = (
        "app", "record", "type", "data", "client", "session_id", "id", "user", "address",
        "_session",
    )  # fmt: skip

    def __init__(
        self,
        app: App,
        record: Widget,
        kind: str,
        data: Any,
        client: str,
        session_id: str,
        ident: int | None,
        user: User | None = None,
        address: str = "",
    ) -> None:
        self.app = app
        self.record = record
        self.type = kind
        self.data = data
        self.client = client
        self.session_id = session_id
        self.id = ident
        self.user = user  # the signed-in user who sent it (None: nobody is signed in)
        self.address = address  # the sender's address as the server saw it ("" unknown)
        self._session: Session | None = None

    def __repr__(self) -> str:
        return f"<Event {self.type!r} on {self.label!r} from {self.client!r}>"

    @property
    def label(self) -> str:
        """The label of the widget the event came from."""
        return self.record.label

    @property
    def widget(self) -> Any:
        """The typed handle of the widget the event came from (`PlotlyHandle`, ...)."""
        kind = kind_named(self.record.kind) or kind_named("html")
        if kind is None:
            raise LookupError(f"no widget kind {self.record.kind!r} is registered")
        return kind.handle(self.app, self.label)

    @property
    def session(self) -> Session:
        """The sender's session: a mapping of JSON values shared by every worker."""
        if self._session is None:
            self._session = self.app.sessions_load(self.session_id)
        return self._session

    def loaded(self, session: Session) -> None:
        """Hand over a session loaded beforehand (async callbacks cannot wait for it)."""
        self._session = session

    @property
    def session_if_loaded(self) -> Session | None:
        """The session if the callback touched it."""
        return self._session

    def reply(self, kind: str, data: Any = None) -> int | None:
        """Send `kind` to the page that sent this event only."""
        return self.app.emit(self.label, kind, data, to=SENDER)


current: ContextVar[Event | None] = ContextVar("pywry_event", default=None)


def current_event() -> Event | None:
    """The event whose callback is running, or None outside callbacks."""
    return current.get()
