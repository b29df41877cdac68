"""What one client may make the server do: event rates, new clients, widgets, exports, slots.

Every transport (WebSocket, HTTP stream and posts) and every adapter asks here, so each limit
is enforced once, the same way everywhere. A refusal says what was exceeded, with the HTTP
status, the error code and the seconds after which trying again can succeed (`Retry-After`).

Limits are keyed on what the server saw, never on what the client chose: the peer address (the
server's view of it; behind a trusted proxy, the server has already applied `X-Forwarded-For`),
the widget's token, and the client id only where the client gains nothing by changing it. IPv6
addresses count per /64 network (what one subscriber is usually given); an unknown address (a
Unix socket) has no per-address limit. Buckets live in this process (each worker counts alone)
and are bounded: the least recently used keys go first.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..config import ServerSettings
from .http import HttpResponse, error_response

MAX_KEYS = 10_000  # buckets kept per kind of limit
MAX_KNOWN_CLIENTS = 50_000  # client ids remembered as already counted (about 12 MB at most)
EXPORTS_PER_ADDRESS = 4  # an address may export this many times what one page may
FULL_RETRY = 10  # seconds to suggest when no connection slot is free


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why something was refused: HTTP status, error code, message, seconds to wait."""

    status: int
    code: str
    detail: str
    retry_after: int

    def response(self) -> HttpResponse:
        """The JSON answer `{"error": code, "detail": text}` with `Retry-After`."""
        res = error_response(self.status, self.code, self.detail)
        res.headers["Retry-After"] = str(self.retry_after)
        return res

    @property
    def reason(self) -> str:
        """The detail as a WebSocket close reason (at most 123 bytes)."""
        return self.detail.encode()[:123].decode(errors="ignore")


class Bucket:
    """Token bucket: `rate` tokens per second, holding at most `burst` (default: `rate`)."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = max(1.0, rate if burst is None else burst)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def ready(self, now: float | None = None) -> bool:
        """Refill for the time passed (up to `now`); True when a token can be taken."""
        if now is None:
            now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens >= 1.0

    def take(self) -> None:
        """Take one token (after `ready` said there is one)."""
        self.tokens -= 1.0

    def allow(self) -> bool:
        """Take one token if there is one."""
        if self.ready():
            self.take()
            return True
        return False

    def wait(self) -> int:
        """Whole seconds until the next token (at least 1)."""
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))


class Buckets:
    """Buckets by key, each made full on first use; past `size` keys the least recently used go."""

    def __init__(self, rate: Callable[[], float], per: float = 1.0, size: int = MAX_KEYS) -> None:
        self._rate = rate  # read when a bucket is made: settings may change after start
        self._per = per  # the rate is per this many seconds (60: per minute)
        self._size = size
        self._buckets: OrderedDict[Hashable, Bucket] = OrderedDict()

    def get(self, key: Hashable) -> Bucket:
        """The bucket of `key`."""
        bucket = self._buckets.get(key)
        if bucket is None:
            limit = self._rate()
            bucket = self._buckets[key] = Bucket(limit / self._per, limit)
            if len(self._buckets) > self._size:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket


@functools.lru_cache(maxsize=4096)
def address_key(address: str) -> str | None:
    """What per-address limits count: the IP (IPv6: its /64), or None when it is unknown.

    Remembered: every event asks it for the same few addresses, and parsing is not free.
    """
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address  # a name a server reported instead of an IP: count it as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _take_all(buckets: Sequence[Bucket]) -> Bucket | None:
    """Take a token from every bucket, or from none: returns the first empty one."""
    now = time.monotonic()  # one clock read for all of them
    for bucket in buckets:
        if not bucket.ready(now):
            return bucket
    for bucket in buckets:
        bucket.take()
    return None


class Limits:
    """Every per-client limit of one app (thread-safe; cheap enough for every event)."""

    def __init__(self, settings: Callable[[], ServerSettings]) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._client_events = Buckets(lambda: settings().max_events_per_second)
        self._address_events = Buckets(lambda: settings().max_events_per_second_per_address)
        self._token_events = Buckets(lambda: settings().max_events_per_second_per_token)
        self._new_clients = Buckets(lambda: settings().max_new_clients_per_minute, 60.0)
        self._known: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._visitor_widgets = Buckets(lambda: settings().max_visitor_widgets_per_minute, 60.0)
        self._client_exports = Buckets(lambda: settings().max_exports_per_minute, 60.0)
        self._address_exports = Buckets(
            lambda: settings().max_exports_per_minute * EXPORTS_PER_ADDRESS, 60.0
        )

    def event(self, address: str, label: str, client: str | None = None) -> Refusal | None:
        """One browser event on widget `label` (its token) from `address`.

        `client` is given for posts, which have no connection of their own to count on; a
        socket or stream counts its events itself (`Peer`).
        """
        buckets = self.event_buckets(address, label)
        if client is not None:
            with self._lock:
                buckets = (self._client_events.get((label, client)), *buckets)
        return self.take(buckets)

    def event_buckets(self, address: str, label: str) -> tuple[Bucket, ...]:
        """The buckets an open connection's events count against: its address's and its token's.

        Looked up once when the connection opens (`take`), not on every event.
        """
        addr = address_key(address)
        with self._lock:
            if addr is None:
                return (self._token_events.get(label),)
            return (self._address_events.get(addr), self._token_events.get(label))

    def take(self, buckets: Sequence[Bucket]) -> Refusal | None:
        """One event against `buckets` (from `event_buckets`, with the connection's own first)."""
        with self._lock:
            empty = _take_all(buckets)
        if empty is None:
            return None
        return Refusal(429, "policy", "rate limit exceeded; slow down", empty.wait())

    def new_client(self, address: str, label: str, client: str) -> Refusal | None:
        """A client id of widget `label` used from `address`: new ones count per minute."""
        addr = address_key(address)
        if addr is None:
            return None
        key = (addr, label, client)
        with self._lock:
            if key in self._known:
                self._known.move_to_end(key)
                return None
            bucket = self._new_clients.get(addr)
            if not bucket.allow():
                limit = self._settings().max_new_clients_per_minute
                detail = f"more than {limit} new pages a minute from this address; wait"
                return Refusal(429, "policy", detail, bucket.wait())
            self._known[key] = None
            if len(self._known) > MAX_KNOWN_CLIENTS:
                self._known.popitem(last=False)
        return None

    def visitor_widget(self, address: str) -> Refusal | None:
        """A new per-visitor widget made for a request or an event from `address`."""
        addr = address_key(address)
        if addr is None:
            return None
        with self._lock:
            bucket = self._visitor_widgets.get(addr)
            if bucket.allow():
                return None
        limit = self._settings().max_visitor_widgets_per_minute
        detail = (
            f"more than {limit} new pages a minute from this address "
            "(PYWRY_SERVER__MAX_VISITOR_WIDGETS_PER_MINUTE); wait"
        )
        return Refusal(429, "too-many-widgets", detail, bucket.wait())

    def export(self, address: str, label: str, client: str) -> Refusal | None:
        """A large download (a table's CSV export) asked for by one page from `address`."""
        addr = address_key(address)
        with self._lock:
            buckets = [self._client_exports.get((label, client))]
            if addr is not None:
                buckets.append(self._address_exports.get(addr))
            empty = _take_all(buckets)
        if empty is None:
            return None
        limit = self._settings().max_exports_per_minute
        detail = f"at most {limit} exports a minute; try again in {empty.wait()} s"
        return Refusal(429, "policy", detail, empty.wait())


# -- connection slots ------------------------------------------------------------------------------
class Slot(Protocol):
    """What slot sharing knows of an open connection."""

    client: str
    counted_as: str | None  # `address_key` of its address
    opened: float
    closed: bool


S = TypeVar("S", bound=Slot)


def make_room(
    slots: Iterable[S], client: str, address: str, server: ServerSettings
) -> tuple[list[S], Refusal | None]:
    """Room for a new connection of `client` from `address` among a widget's open `slots`.

    Returns the connections to close first (this client's oldest when it holds its share, then
    duplicates: the older connections of a client holding several) and a refusal when there is
    still no room: the address or the widget is at its share with nothing duplicated. Cheap
    while no share is full (it runs for every new connection).
    """
    live = [s for s in slots if not s.closed]
    mine = [s for s in live if s.client == client]
    drop = sorted(mine, key=_opened)[: max(0, len(mine) - server.max_connections_per_client + 1)]
    addr = address_key(address)
    if addr is not None:
        same = [s for s in live if s.counted_as == addr]
        refused = _free(same, drop, server.max_connections_per_address, "from this address")
        if refused is not None:
            return [], refused
    refused = _free(live, drop, server.max_connections_per_widget, "to this widget")
    return ([], refused) if refused is not None else (drop, None)


def _free(held: list[S], drop: list[S], cap: int, what: str) -> Refusal | None:
    """Add to `drop` the duplicates among `held` that leave room for one more under `cap`.

    `drop` is short (a page's own older connections), so the common case costs one count.
    """
    gone = {id(s) for s in drop}
    kept = [s for s in held if id(s) not in gone] if gone else held
    if len(kept) < cap:
        return None
    over = len(kept) - cap + 1
    spare = _duplicates(sorted(kept, key=_opened))
    if len(spare) < over:
        return Refusal(429, "policy", f"too many connections {what}", FULL_RETRY)
    drop.extend(spare[:over])
    return None


def _opened(slot: Slot) -> float:
    return slot.opened


def _duplicates(slots: Sequence[S]) -> list[S]:
    """The older connections of every client that holds several (`slots` oldest first)."""
    newest: dict[str, S] = {}
    for s in slots:
        newest[s.client] = s
    keep = {id(s) for s in newest.values()}
    return [s for s in slots if id(s) not in keep]
