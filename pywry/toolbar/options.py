"""The Option model and the helpers every choice item uses on its list of options.

Option values keep their JSON type and are compared the way the browser compares them
(see :func:`~pywry.toolbar.fields.value_key`), so ``1`` and ``1.0`` are one value but ``"1"`` is
another.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pydantic import ValidationError, model_validator

from .base import StrictModel
from .fields import OptionValue, value_key
from .markup import attrs, escape, to_json

#: An option as it travels in a ``toolbar:set-value`` message.
OptionData = dict[str, OptionValue | None]

V = TypeVar("V")


class Option(StrictModel):
    """One choice of a Select, MultiSelect, RadioGroup or TabGroup.

    ``value`` (a string, number or bool, sent to the callback with its JSON type) defaults to
    ``label``; ``label`` defaults to ``str(value)``.  Either may be given alone.  Wherever a list
    of options is expected, plain strings or numbers and ``{"label": ..., "value": ...}`` dicts
    are accepted too.
    """

    label: str = ""
    value: OptionValue | None = None

    @model_validator(mode="after")
    def _defaults(self) -> Option:
        if self.value is None:
            if not self.label:
                raise ValueError("Option needs a label or a value")
            self.value = self.label
        elif not self.label:
            self.label = (
                str(self.value).lower() if isinstance(self.value, bool) else str(self.value)
            )
        return self

    def render(self, selected: bool = False) -> str:
        """Render as an ``<option>`` element."""
        option_attrs = attrs(
            [
                ("value", self.str_value()),
                ("data-pywry-value", to_json(self.value)),
                ("selected", selected),
            ]
        )
        return f"<option{option_attrs}>{escape(self.label)}</option>"

    def str_value(self) -> str:
        """The value as the ``value`` attribute of a form control (bools as JSON)."""
        return to_json(self.value) if isinstance(self.value, bool) else str(self.value)


def coerce_options(value: object, field: str = "options") -> list[object]:
    """Accept Option objects, plain scalars and dicts in an options list."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise ValueError(f"{field} must be a list of Option, got {type(value).__name__}")
    out: list[object] = []
    for item in value:
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            out.append(Option(label=str(item), value=item))
        else:
            out.append(item)
    return out


def check_unique_options(options: Iterable[Option], field: str = "options") -> None:
    """Raise ValueError when two options have the same value (as the browser compares them)."""
    seen: set[tuple[str, object]] = set()
    for opt in options:
        key = value_key(opt.value)
        if key in seen:
            raise ValueError(f"{field} has the value {opt.value!r} more than once")
        seen.add(key)


def contains(options: Iterable[Option], value: object) -> bool:
    """Whether one of ``options`` has ``value``."""
    key = value_key(value)
    return any(value_key(o.value) == key for o in options)


def option_value(options: Iterable[Option], value: V) -> V | OptionValue | None:
    """The option's own value equal to ``value`` (so 1 given for 1.0 keeps the option's type)."""
    key = value_key(value)
    for o in options:
        if value_key(o.value) == key:
            return o.value
    return value


def options_message(value: object) -> list[OptionData]:
    """Validate an options list for ``toolbar:set-value`` and return it as plain dicts."""
    opts: list[Option] = []
    for i, o in enumerate(coerce_options(value)):
        try:
            opts.append(o if isinstance(o, Option) else Option.model_validate(o))
        except ValidationError as exc:
            raise ValueError(f"options[{i}] {o!r} is not an option: {exc}") from None
    check_unique_options(opts)
    return [{"label": o.label, "value": o.value} for o in opts]


def parse_options(data: object) -> list[Option]:
    """Options given as plain dicts (as in :func:`options_message`'s result) as models."""
    if not isinstance(data, list):
        raise ValueError(f"options must be a list, got {type(data).__name__}")
    return [Option.model_validate(o) for o in data]
