"""Field types and validators shared by the toolbar models.

Event names, component ids and CSS classes end up in HTML attributes and in messages routed to
Python, so they are checked strictly here; errors name the field and the refused value.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

from pywry.core.protocol import RESERVED_NAMESPACES

from .markup import to_json

EVENT_RE = re.compile(r"[A-Za-z][\w.-]*:[A-Za-z][\w.-]*", re.ASCII)
COMPONENT_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*", re.ASCII)
CLASS_NAME_RE = re.compile(r"-?[A-Za-z_][A-Za-z0-9_-]*", re.ASCII)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
MAX_EVENT_LEN = 128
MAX_ID_LEN = 128

Number = StrictInt | StrictFloat
OptionValue = StrictStr | StrictBool | StrictInt | StrictFloat
#: Milliseconds of quiet typing before a field sends its value (at most a minute).
Debounce = Annotated[StrictInt, Field(ge=0, le=60_000)]

#: How the browser compares option values (JSON): a type tag and the value.
ValueKey = tuple[str, object]

T = TypeVar("T")


def value_key(value: object) -> ValueKey:
    """Identity of an option value as the browser sees it (JSON): 1 == 1.0, but 1 != "1"."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", float(value))
    return ("s", value)


def _check_syntax(
    value: object, field: str, pattern: re.Pattern[str], max_len: int, wanted: str, refused: str
) -> str:
    """Return ``value`` if it is a string of at most ``max_len`` characters matching ``pattern``.

    Otherwise raise ValueError: "``field`` must be ``wanted``, got <type>" for a non-string,
    "``field`` <value> ``refused``" for a string that does not fit.
    """
    if not isinstance(value, str):
        raise ValueError(f"{field} must be {wanted}, got {type(value).__name__}")
    if len(value) > max_len or not pattern.fullmatch(value):
        raise ValueError(f"{field} {value!r} {refused}")
    return value


def check_event(value: object, field: str = "event") -> str:
    """Return ``value`` if it is a valid, non-reserved ``namespace:name``; else raise ValueError."""
    value = _check_syntax(
        value,
        field,
        EVENT_RE,
        MAX_EVENT_LEN,
        wanted="a string like 'app:click'",
        refused="is not a valid event name: expected 'namespace:name' made of letters, digits, "
        "'_', '.' and '-', each part starting with a letter (e.g. 'app:click')",
    )
    namespace = value.split(":", 1)[0]
    if namespace.lower() in RESERVED_NAMESPACES:
        reserved = ", ".join(f"'{n}:'" for n in sorted(RESERVED_NAMESPACES))
        raise ValueError(
            f"{field} {value!r} uses the reserved namespace {namespace!r} "
            f"({reserved} belong to pywry); choose your own, e.g. 'app:{value.split(':', 1)[1]}'"
        )
    return value


def check_component_id(value: object, field: str = "component_id") -> str:
    """Return ``value`` if it can be an element id (letter first, then ``[A-Za-z0-9_-]``)."""
    return _check_syntax(
        value,
        field,
        COMPONENT_ID_RE,
        MAX_ID_LEN,
        wanted="a string",
        refused="is not a valid component id: it must start with a letter and contain only "
        f"letters, digits, '_' and '-' (at most {MAX_ID_LEN} characters)",
    )


def check_class_name(value: str) -> str:
    """Return ``value`` if every space-separated token is a CSS class name."""
    for token in value.split():
        if not CLASS_NAME_RE.fullmatch(token):
            raise ValueError(
                f"class_name {value!r} contains {token!r}, which is not a CSS class name"
            )
    return value


def coerce_date(value: object, field: str) -> date | None:
    """A date from a ``date`` or an ISO ``"YYYY-MM-DD"`` string; ``None``/``""`` mean no date."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise ValueError(f"{field} {value!r} is a datetime; pass a date or 'YYYY-MM-DD'")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{field} {value!r} is not an ISO date 'YYYY-MM-DD'")


def check_json(value: T, field: str) -> T:
    """Return ``value`` if it serialises to JSON (it is sent to the page as is)."""
    try:
        to_json(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field} {value!r} is not JSON-serialisable: {exc}") from None
    return value


def _none_is_unset(value: object) -> object:
    return "" if value is None else value


def _valid_or_unset(value: str) -> str:
    return value if value == "" else check_component_id(value)


#: A ``component_id`` field: a valid id, or ``""`` (also given as None) until one is generated.
ComponentId = Annotated[str, BeforeValidator(_none_is_unset), AfterValidator(_valid_or_unset)]
