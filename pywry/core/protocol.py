"""Wire protocol v1: parsing, validation and encoding of the JSON messages (no I/O here)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

try:  # orjson is several times faster than json for the small frames we move
    import orjson

    def encode(obj: Any) -> str:
        """Serialise a message to compact JSON text."""
        return orjson.dumps(obj).decode()

    def _loads(text: str | bytes) -> Any:
        return orjson.loads(text)

    _DecodeError: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except (
    ImportError
):  # pragma: no cover - orjson is a hard dependency, this keeps pure installs working
    import json

    def encode(obj: Any) -> str:
        """Serialise a message to compact JSON text."""
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)

    def _loads(text: str | bytes) -> Any:
        return json.loads(text)

    _DecodeError = (ValueError,)

PROTOCOL_VERSION = 1
MAX_DEPTH = 32
EVENT_NAME = re.compile(r"^[A-Za-z][\w.\-]*:[A-Za-z][\w.\-:]*$")
RESERVED_NAMESPACES = frozenset({"pywry", "plotly", "grid", "toolbar"})

# WebSocket close codes; the HTTP stream answers the same conditions with HTTP_STATUS.
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012
CLOSE_BAD_TOKEN = 4001
CLOSE_BAD_ORIGIN = 4003
CLOSE_UNKNOWN_WIDGET = 4004

# The HTTP status used by the HTTP stream transport for the same conditions.
HTTP_STATUS = {
    CLOSE_BAD_TOKEN: 401,
    CLOSE_BAD_ORIGIN: 403,
    CLOSE_UNKNOWN_WIDGET: 404,
    CLOSE_TOO_BIG: 413,
    CLOSE_POLICY: 429,
}
ERROR_CODES = {
    CLOSE_BAD_TOKEN: "bad-token",
    CLOSE_BAD_ORIGIN: "origin-not-allowed",
    CLOSE_UNKNOWN_WIDGET: "unknown-widget",
    CLOSE_TOO_BIG: "too-big",
    CLOSE_POLICY: "policy",
}


MAX_EVENT_ID = 2**53 - 1  # what a page's JavaScript numbers exactly


class ProtocolError(Exception):
    """A frame the server cannot accept; `code` goes into the `pywry:error` answer."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(slots=True)
class Incoming:
    """One validated browser -> server event."""

    type: str
    data: Any
    id: int | None
    widget_id: str | None


@functools.lru_cache(maxsize=4096)
def _well_formed(name: str) -> bool:
    return len(name) <= 200 and EVENT_NAME.match(name) is not None


def is_event_name(name: object) -> bool:
    """True for a well-formed `namespace:name` (remembered: a dict lookup, not a regex)."""
    return isinstance(name, str) and _well_formed(str(name))


def check_event_name(name: object, *, allow_reserved: bool = True) -> str:
    """Return `name` if it is a valid event name, else raise ValueError naming it."""
    if not is_event_name(name):
        raise ValueError(f"event name {name!r} is not of the form 'namespace:name'")
    assert isinstance(name, str)
    if not allow_reserved and name.split(":", 1)[0] in RESERVED_NAMESPACES:
        raise ValueError(
            f"event name {name!r} uses a reserved namespace "
            f"({', '.join(sorted(RESERVED_NAMESPACES))})"
        )
    return name


def _too_deep(value: Any, limit: int) -> bool:
    """Iterative depth check, so a hostile payload cannot blow the Python stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return False


def _brackets(text: str | bytes) -> int:
    """How many `{` and `[` the raw frame holds (an upper bound on its nesting depth)."""
    if isinstance(text, bytes):
        return text.count(b"{") + text.count(b"[")
    return text.count("{") + text.count("[")


def byte_length(text: str) -> int:
    """UTF-8 size of `text` without encoding it when the answer is obvious."""
    n = len(text)
    return n if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def parse_incoming(text: str | bytes, max_size: int) -> Incoming:
    """Validate one browser frame; raise ProtocolError with its code ("too-big", "bad-message")."""
    size = len(text) if isinstance(text, bytes) else byte_length(text)
    if size > max_size:
        raise ProtocolError("too-big", f"message of {size} bytes exceeds the limit of {max_size}")
    try:
        msg = _loads(text)
    except _DecodeError as exc:
        raise ProtocolError("bad-message", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("bad-message", f"nested deeper than {MAX_DEPTH}") from None
    if not isinstance(msg, dict):
        raise ProtocolError("bad-message", "a message must be a JSON object")
    kind = msg.get("type")
    if not is_event_name(kind):
        raise ProtocolError("bad-message", "'type' must be a string of the form 'namespace:name'")
    data = msg.get("data")
    # `data` can only nest MAX_DEPTH - 1 deep if the frame has that many opening brackets, so
    # the walk is skipped for the usual small frame (brackets inside strings only make us walk).
    if (
        isinstance(data, (dict, list))
        and _brackets(text) >= MAX_DEPTH - 1
        and _too_deep(data, MAX_DEPTH - 1)
    ):
        raise ProtocolError("bad-message", f"nested deeper than {MAX_DEPTH}")
    ident = msg.get("id")
    if ident is not None and (type(ident) is not int or not 0 < ident <= MAX_EVENT_ID):
        raise ProtocolError("bad-message", f"'id' must be an integer from 1 to {MAX_EVENT_ID}")
    wid = msg.get("widgetId")
    if wid is not None and not isinstance(wid, str):
        raise ProtocolError("bad-message", "'widgetId' must be a string")
    return Incoming(type=kind, data={} if data is None else data, id=ident, widget_id=wid)  # type: ignore[arg-type]


def json_problem(value: Any) -> str | None:
    """Why `value` cannot be sent or stored as JSON, or None when it can."""
    try:
        encode(value)
    except TypeError as exc:
        return str(exc)
    return None


def decode_object(text: str | bytes | None) -> dict[str, Any]:
    """A stored JSON object (a session); empty for nothing or for anything but an object."""
    if not text:
        return {}
    value = _loads(text)
    return value if isinstance(value, dict) else {}


def sequenced(kind: str, data: Any, seq: int, field: str = "seq") -> str:
    """Encode a Python -> browser message with its position in its stream.

    `field` names the stream: `seq` the widget's, `cseq` the page's own, `sseq` its session's.
    """
    return encode({"type": kind, "data": data, field: seq})


def unsequenced(kind: str, data: Any) -> str:
    """Encode a message for one connection only (acks, errors)."""
    return encode({"type": kind, "data": data})


def ack(ident: int) -> str:
    """The acknowledgement of browser event `ident`."""
    return '{"type":"pywry:ack","data":{"id":%d}}' % ident


def error(code: str, detail: str, **extra: Any) -> str:
    """A `pywry:error` message for one connection."""
    return unsequenced("pywry:error", {"code": code, "detail": detail, **extra})


def batch(frames: list[str]) -> str:
    """Join already-encoded messages into one `{"events": [...]}` frame without re-encoding."""
    if len(frames) == 1:
        return frames[0]
    return '{"events":[' + ",".join(frames) + "]}"
