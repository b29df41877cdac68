"""Building the data of a ``toolbar:set-value`` message from Python values.

The result is plain JSON (dates as ISO strings, tuples as lists, options as dicts), checked
here so a bad value fails in the caller's code rather than in the browser.
"""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from .fields import check_component_id, check_json
from .options import options_message

#: The data of a ``toolbar:set-value`` message: a JSON object (values as ``json.loads`` gives).
SetValueData = dict[str, Any]

#: The keys a message may carry besides ``componentId`` and ``value``, with their JSON types.
SET_VALUE_KEYS: MappingProxyType[str, type | tuple[type, ...]] = MappingProxyType(
    {
        "options": list,
        "disabled": bool,
        "label": str,
        "description": str,
        "placeholder": str,
        "text": str,
        "min": (int, float, str),
        "max": (int, float, str),
        "step": (int, float),
    }
)


def jsonable(value: object) -> object:
    """``value`` with dates, tuples and models turned into their JSON forms, recursively."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude={"kind"})
    return value


def set_value_message(component_id: str, value: object = ..., **extra: object) -> SetValueData:
    """Build the data of a ``toolbar:set-value`` message.

    ``set_value_message("region", "north")`` -> ``{"componentId": "region", "value": "north"}``.
    Leave ``value`` out to change only other things.  Keyword arguments: ``options`` (list of
    Option, str, number or ``{"label", "value"}`` dicts), ``disabled``, ``label``,
    ``description``, ``placeholder``, ``text``, ``min``, ``max``, ``step``; ``None`` ones are
    left out.  Raises TypeError for an unknown keyword and ValueError for a bad value, naming it.
    """
    check_component_id(component_id, "component_id")
    data: SetValueData = {"componentId": component_id}
    if value is not ...:
        data["value"] = check_json(jsonable(value), "value")
    for key, val in extra.items():
        if key not in SET_VALUE_KEYS:
            raise TypeError(
                f"set_value_message() got an unknown keyword {key!r}; "
                f"expected one of {sorted(SET_VALUE_KEYS)}"
            )
        if val is None:
            continue
        kind = SET_VALUE_KEYS[key]
        if key == "options":
            data["options"] = options_message(val)
            continue
        if isinstance(val, date):
            val = val.isoformat()
        if (kind is not bool and isinstance(val, bool)) or not isinstance(val, kind):
            raise ValueError(f"{key} {val!r} has the wrong type ({type(val).__name__})")
        if isinstance(val, float):
            check_json(val, key)
        data[key] = val
    return data
