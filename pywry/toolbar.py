"""Toolbar components: pydantic models that render to HTML and emit events to Python callbacks.

A :class:`Toolbar` holds items (buttons, selects, inputs, ...) and sits in one of seven positions
around a widget's content (``top``, ``bottom``, ``left``, ``right``, ``header``, ``footer``,
``inside``).  Every interactive item names the event it sends, ``namespace:name``; the namespaces
``pywry``, ``plotly``, ``grid`` and ``toolbar`` belong to the system and are refused::

    from pywry.toolbar import Button, Option, Select, Toolbar

    toolbar = Toolbar(
        position="top",
        items=[
            Select(
                event="chart:region",
                label="Region",
                options=[Option(label="All", value="all"), Option(label="North", value="north")],
                selected="all",
            ),
            Button(event="chart:export", label="Export CSV"),
        ],
    )

Payloads
--------
The callback registered for an item's event, ``callback(data, event_type, label)``, receives
``data`` shaped as follows.  ``componentId`` is always the item's ``component_id``.

=====================================  ======================================================
Item                                   ``data`` given to the callback
=====================================  ======================================================
Button                                 ``{"componentId": id, **button.data}``
Select, RadioGroup, TabGroup           ``{"value": option_value, "componentId": id}``
MultiSelect                            ``{"value": [option_value, ...], "componentId": id}``
TextInput, TextArea, SearchInput       ``{"value": str, "componentId": id}``
NumberInput, SliderInput               ``{"value": number, "componentId": id}``
RangeInput                             ``{"start": number, "end": number, "componentId": id}``
Toggle, Checkbox                       ``{"value": bool, "componentId": id}``
DateInput                              ``{"value": "YYYY-MM-DD" or None, "componentId": id}``
SecretInput                            ``{"componentId": id, "hasValue": bool}`` (the server keeps
                                       the secret; the page posts it once as
                                       ``{"value": s, "componentId": id, "secret": true}``)
Marquee ticker click                   ``{"value": ticker_value, "componentId": ticker_id,
                                       "marqueeId": marquee_id}``
Div (with an event) click              ``{"componentId": id, "value": data-value or None}``
=====================================  ======================================================

Option values keep their JSON type: ``Option(label="Ten", value=10)`` sends ``10``, not ``"10"``.
Text inputs send after ``debounce`` milliseconds of quiet typing and at once on change (blur or
Enter); the same value is never sent twice in a row.  Sliders and ranges send when released.

Setting values from Python
--------------------------
The system event ``toolbar:set-value`` updates an item on every page that shows it, without the
page sending the item's event back::

    widget.emit("toolbar:set-value", set_value_message("region-select", "north"))
    widget.emit("toolbar:set-value", toolbar.set_value("region-select", "north"))  # validated

Its data is ``{"componentId": id, "value": v}`` plus optionally ``"options"`` (replace the
options of a Select, MultiSelect, RadioGroup or TabGroup), ``"disabled"``, ``"label"``,
``"description"``, ``"placeholder"``, ``"text"`` (plain text of a Div or a ticker), ``"min"``,
``"max"`` and ``"step"``.  For a RangeInput the value is ``{"start": s, "end": e}``.  A
SecretInput's value can never be set from Python: the page never holds a secret it did not type.

HTML conventions
----------------
Every interactive element carries ``id`` and ``data-pywry-component`` (the component id),
``data-pywry-kind`` (``button``, ``select``, ``multiselect``, ``text``, ``textarea``, ``search``,
``secret``, ``number``, ``date``, ``slider``, ``range``, ``toggle``, ``checkbox``, ``radio``,
``tabs``, ``div``, ``marquee``, ``ticker``) and ``data-pywry-event`` (when it sends one).  Every
user string is HTML-escaped, except :attr:`Div.content`, which is the author's own HTML.  Nothing
here ever reads a file because of a string it was given.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from pywry.core.protocol import RESERVED_NAMESPACES

__all__ = [
    "POSITIONS",
    "RESERVED_NAMESPACES",
    "TOOLBAR_CSS",
    "TOOLBAR_JS",
    "Button",
    "Checkbox",
    "DateInput",
    "Div",
    "Marquee",
    "MultiSelect",
    "NumberInput",
    "Option",
    "RadioGroup",
    "RangeInput",
    "SearchInput",
    "SecretInput",
    "Select",
    "SliderInput",
    "TabGroup",
    "TextArea",
    "TextInput",
    "TickerItem",
    "Toggle",
    "Toolbar",
    "ToolbarItem",
    "apply_set_value",
    "collect_secret_ids",
    "render_layout",
    "set_value_message",
]

#: Names of the files in ``pywry/static`` that a page showing toolbars loads (after the bridge).
TOOLBAR_CSS = "toolbar.css"
TOOLBAR_JS = "toolbar.js"

POSITIONS = ("header", "left", "top", "inside", "bottom", "right", "footer")
Position = Literal["top", "bottom", "left", "right", "header", "footer", "inside"]

EVENT_RE = re.compile(r"[A-Za-z][\w.-]*:[A-Za-z][\w.-]*", re.ASCII)
COMPONENT_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*", re.ASCII)
CLASS_NAME_RE = re.compile(r"-?[A-Za-z_][A-Za-z0-9_-]*", re.ASCII)
_MAX_EVENT_LEN = 128
_MAX_ID_LEN = 128

Number = StrictInt | StrictFloat
OptionValue = StrictStr | StrictBool | StrictInt | StrictFloat


# --------------------------------------------------------------------------- helpers


def _e(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def _attrs(pairs: Iterable[tuple[str, object]]) -> str:
    """Render ``name="value"`` pairs; ``None``/``False`` are left out, ``True`` is a bare name."""
    out = []
    for name, value in pairs:
        if value is None or value is False:
            continue
        if value is True:
            out.append(f" {name}")
        else:
            out.append(f' {name}="{_e(value)}"')
    return "".join(out)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def _num(value: float | int | None) -> str | None:
    return None if value is None else str(value)


def _value_key(value: Any) -> tuple[str, Any]:
    """Identity of an option value as the browser sees it (JSON): 1 == 1.0, but 1 != "1"."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", float(value))
    return ("s", value)


def check_event(value: object, field: str = "event") -> str:
    """Return ``value`` if it is a valid, non-reserved ``namespace:name``; else raise ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string like 'app:click', got {type(value).__name__}")
    if len(value) > _MAX_EVENT_LEN or not EVENT_RE.fullmatch(value):
        raise ValueError(
            f"{field} {value!r} is not a valid event name: expected 'namespace:name' made of "
            "letters, digits, '_', '.' and '-', each part starting with a letter "
            "(e.g. 'app:click')"
        )
    namespace = value.split(":", 1)[0]
    if namespace.lower() in RESERVED_NAMESPACES:
        reserved = ", ".join(f"'{n}:'" for n in sorted(RESERVED_NAMESPACES))
        raise ValueError(
            f"{field} {value!r} uses the reserved namespace {namespace!r} "
            f"({reserved} belong to pywry); choose your own, e.g. 'app:{value.split(':', 1)[1]}'"
        )
    return value


def _check_component_id(value: object, field: str = "component_id") -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {type(value).__name__}")
    if len(value) > _MAX_ID_LEN or not COMPONENT_ID_RE.fullmatch(value):
        raise ValueError(
            f"{field} {value!r} is not a valid component id: it must start with a letter and "
            f"contain only letters, digits, '_' and '-' (at most {_MAX_ID_LEN} characters)"
        )
    return value


_id_lock = threading.Lock()
_id_counters: dict[str, Iterator[int]] = {}


def _auto_id(event: object, kind: str) -> str:
    """A stable id ``tb-<event-ish>-<n>``.

    ``n`` counts per stem within the process, so the same module run by several workers gives
    its module-level toolbars the same ids in every worker.
    """
    stem = ""
    if isinstance(event, str):
        stem = re.sub(r"[^a-z0-9]+", "-", event.lower()).strip("-")[:48].strip("-")
    stem = stem or kind
    with _id_lock:
        counter = _id_counters.setdefault(stem, itertools.count(1))
        n = next(counter)
    return f"tb-{stem}-{n}"


def _coerce_date(value: object, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise ValueError(f"{field} {value!r} is a datetime; pass a date or 'YYYY-MM-DD'")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{field} {value!r} is not an ISO date 'YYYY-MM-DD'")


def _check_json(value: Any, field: str) -> Any:
    try:
        _json(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field} {value!r} is not JSON-serialisable: {exc}") from None
    return value


# --------------------------------------------------------------------------- base models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Option(_Model):
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
        attrs = _attrs(
            [
                ("value", self._str_value()),
                ("data-pywry-value", _json(self.value)),
                ("selected", selected),
            ]
        )
        return f"<option{attrs}>{_e(self.label)}</option>"

    def _str_value(self) -> str:
        return _json(self.value) if isinstance(self.value, bool) else str(self.value)


def _coerce_options(value: object, field: str = "options") -> list[object]:
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


def _check_unique_options(options: list[Option], field: str = "options") -> None:
    seen: set[tuple[str, Any]] = set()
    for opt in options:
        key = _value_key(opt.value)
        if key in seen:
            raise ValueError(f"{field} has the value {opt.value!r} more than once")
        seen.add(key)


def _contains(options: list[Option], value: object) -> bool:
    key = _value_key(value)
    return any(_value_key(o.value) == key for o in options)


def _option_value(options: list[Option], value: object) -> Any:
    """The option's own value equal to ``value`` (so 1 given for 1.0 keeps the option's type)."""
    key = _value_key(value)
    for o in options:
        if _value_key(o.value) == key:
            return o.value
    return value


class _Component(_Model):
    """Identity, event and common attributes of anything that can fire or be updated."""

    kind: str = ""
    component_id: str = ""
    description: str = ""
    disabled: StrictBool = False
    style: str = ""
    event: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_component_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("component_id") in (None, ""):
            kind = cls.model_fields["kind"].default
            data = {**data, "component_id": _auto_id(data.get("event"), kind)}
        return data

    @field_validator("component_id")
    @classmethod
    def _valid_component_id(cls, value: str) -> str:
        return _check_component_id(value)

    @field_validator("event")
    @classmethod
    def _valid_event(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return check_event(value)

    def _apply_updates(self, updates: dict[str, Any]) -> None:
        """Validate ``updates`` on a copy, then set them, so a bad update changes nothing."""
        if not updates:
            return
        trial = type(self).model_validate({**self.model_dump(), **updates})
        for name in updates:
            setattr(self, name, getattr(trial, name))


class ToolbarItem(_Component):
    """Fields shared by every toolbar item.

    - ``component_id``: the element's id; generated as ``tb-<event>-<n>`` when not given.  Give
      one explicitly when Python refers to the item (``toolbar:set-value``).
    - ``label``: visible text; ``description``: tooltip; ``disabled``; ``style``: inline CSS.
    - ``event``: ``namespace:name`` sent to Python (required for interactive items).
    """

    label: str = ""

    # the toolbar:set-value keys this kind understands besides value/label/description/disabled
    _set_keys: ClassVar[frozenset[str]] = frozenset()

    # -- rendering helpers

    def _control_attrs(self, *extra: tuple[str, object], cls: str = "") -> str:
        return _attrs(
            [
                ("id", self.component_id),
                ("class", cls or None),
                ("data-pywry-kind", self.kind),
                ("data-pywry-component", self.component_id),
                ("data-pywry-event", self.event),
                *extra,
                ("title", self.description or None),
                ("style", self.style or None),
            ]
        )

    def _wrap(self, inner: str) -> str:
        cls = f"pywry-tb-item pywry-tb-item-{self.kind}"
        if self.disabled:
            cls += " pywry-tb-disabled"
        return f'<div class="{cls}" data-pywry-item="{_e(self.component_id)}">{inner}</div>'

    def _label_for(self) -> str:
        """A ``<label for>`` (for labelable controls); hidden while the label is empty."""
        attrs = _attrs(
            [
                ("class", "pywry-tb-label"),
                ("for", self.component_id),
                ("data-pywry-label-for", self.component_id),
                ("hidden", not self.label),
            ]
        )
        return f"<label{attrs}>{_e(self.label)}</label>"

    def _label_span(self) -> str:
        """A label for a group (radio, tabs, ...), referenced by ``aria-labelledby``."""
        attrs = _attrs(
            [
                ("class", "pywry-tb-label"),
                ("id", f"{self.component_id}-label"),
                ("data-pywry-label-for", self.component_id),
                ("hidden", not self.label),
            ]
        )
        return f"<span{attrs}>{_e(self.label)}</span>"

    def render(self) -> str:  # pragma: no cover - every concrete item overrides it
        """Render the item as an HTML string."""
        raise NotImplementedError

    # -- toolbar:set-value

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        """Model fields to change for a ``toolbar:set-value`` value; overridden per kind."""
        raise ValueError(f"{type(self).__name__} {self.component_id!r} has no value to set")

    def _apply_set_value(self, data: dict[str, Any]) -> None:
        """Validate ``data`` (a ``toolbar:set-value`` message) against this item, then apply it."""
        updates: dict[str, Any] = {}
        for key, val in data.items():
            if key == "componentId" or val is None and key != "value":
                continue
            if key == "value":
                updates.update(self._set_value_updates(val))
            elif key in ("label", "description", "disabled") and key in type(self).model_fields:
                updates[key] = val
            elif key in self._set_keys:
                updates.update(self._set_other(key, val))
            else:
                raise ValueError(
                    f"toolbar:set-value key {key!r} does not apply to "
                    f"{type(self).__name__} {self.component_id!r}"
                )
        if "options" in updates:
            updates.update(self._reconcile_selection(updates))
        self._apply_updates(updates)

    def _set_other(self, key: str, value: Any) -> dict[str, Any]:
        return {key: value}

    def _reconcile_selection(self, updates: dict[str, Any]) -> dict[str, Any]:
        return {}


# --------------------------------------------------------------------------- items


class Button(ToolbarItem):
    """A push button.

    Payload: ``{"componentId": id, **data}`` -- the ``data`` dict given here is merged into the
    payload (``componentId`` wins a clash).  ``variant`` picks a style.
    """

    kind: Literal["button"] = "button"
    event: str
    data: dict[str, Any] = Field(default_factory=dict)
    variant: Literal["primary", "secondary", "ghost", "danger"] = "secondary"

    @field_validator("data")
    @classmethod
    def _json_data(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"data keys must be strings, got {key!r}")
        return _check_json(value, "data")

    def render(self) -> str:
        """Render as ``<button>``; the label is its text."""
        attrs = self._control_attrs(
            ("type", "button"),
            ("data-pywry-data", _json(self.data) if self.data else None),
            ("disabled", self.disabled),
            cls=f"pywry-tb-button pywry-tb-button-{self.variant}",
        )
        return self._wrap(f"<button{attrs}>{_e(self.label)}</button>")


class _OptionsItem(ToolbarItem):
    options: list[Option] = Field(default_factory=list)
    _set_keys = frozenset({"options"})

    @field_validator("options", mode="before")
    @classmethod
    def _options_in(cls, value: object) -> object:
        return _coerce_options(value)

    @field_validator("options")
    @classmethod
    def _options_unique(cls, value: list[Option]) -> list[Option]:
        _check_unique_options(value)
        return value

    def _set_other(self, key: str, value: Any) -> dict[str, Any]:
        if key == "options":
            return {"options": _options_message(value)}
        return super()._set_other(key, value)


class _SingleChoice(_OptionsItem):
    selected: OptionValue | None = None

    @model_validator(mode="after")
    def _selected_in_options(self) -> _SingleChoice:
        if self.selected is not None:
            if not _contains(self.options, self.selected):
                values = [o.value for o in self.options]
                raise ValueError(
                    f"selected {self.selected!r} is not one of the option values {values!r}"
                )
            self.selected = _option_value(self.options, self.selected)
        return self

    def _is_selected(self, opt: Option) -> bool:
        return self.selected is not None and _value_key(opt.value) == _value_key(self.selected)

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        return {"selected": value}

    def _reconcile_selection(self, updates: dict[str, Any]) -> dict[str, Any]:
        options = [Option.model_validate(o) for o in updates["options"]]
        selected = updates.get("selected", self.selected)
        if selected is not None and not _contains(options, selected) and "selected" not in updates:
            return {"selected": None}
        return {}


class Select(_SingleChoice):
    """A drop-down list (``<select>``).

    Payload: ``{"value": option_value, "componentId": id}``.  ``selected`` must be one of the
    option values (the first option shows when it is None).
    """

    kind: Literal["select"] = "select"
    event: str

    def render(self) -> str:
        """Render as a labelled ``<select>``."""
        attrs = self._control_attrs(("disabled", self.disabled), cls="pywry-tb-select")
        opts = "".join(o.render(self._is_selected(o)) for o in self.options)
        return self._wrap(f"{self._label_for()}<select{attrs}>{opts}</select>")


class MultiSelect(_OptionsItem):
    """A drop-down of checkboxes choosing any number of options.

    Payload: ``{"value": [option_value, ...], "componentId": id}`` in option order.
    ``placeholder`` shows while nothing is selected.
    """

    kind: Literal["multiselect"] = "multiselect"
    event: str
    selected: list[OptionValue] = Field(default_factory=list)
    placeholder: str = "Select..."
    _set_keys = frozenset({"options", "placeholder"})

    @model_validator(mode="after")
    def _selected_in_options(self) -> MultiSelect:
        seen: set[tuple[str, Any]] = set()
        out = []
        for value in self.selected:
            if not _contains(self.options, value):
                values = [o.value for o in self.options]
                raise ValueError(
                    f"selected value {value!r} is not one of the option values {values!r}"
                )
            key = _value_key(value)
            if key in seen:
                raise ValueError(f"selected has the value {value!r} more than once")
            seen.add(key)
            out.append(_option_value(self.options, value))
        self.selected = out
        return self

    def _is_selected(self, opt: Option) -> bool:
        return _value_key(opt.value) in {_value_key(v) for v in self.selected}

    def _summary(self) -> str:
        labels = [o.label for o in self.options if self._is_selected(o)]
        return ", ".join(labels) if labels else self.placeholder

    def render(self) -> str:
        """Render as ``<details>`` holding one checkbox per option."""
        attrs = self._control_attrs(
            ("aria-labelledby", f"{self.component_id}-label"),
            ("aria-disabled", "true" if self.disabled else None),
            ("data-pywry-placeholder", self.placeholder),
            cls="pywry-tb-multiselect",
        )
        boxes = []
        for opt in self.options:
            box = _attrs(
                [
                    ("type", "checkbox"),
                    ("value", opt._str_value()),
                    ("data-pywry-value", _json(opt.value)),
                    ("checked", self._is_selected(opt)),
                    ("disabled", self.disabled),
                ]
            )
            boxes.append(
                f'<label class="pywry-tb-check"><input{box}><span>{_e(opt.label)}</span></label>'
            )
        summary = (
            '<summary class="pywry-tb-multiselect-summary" data-pywry-summary>'
            f"{_e(self._summary())}</summary>"
        )
        menu = f'<div class="pywry-tb-multiselect-menu" role="group">{"".join(boxes)}</div>'
        return self._wrap(f"{self._label_span()}<details{attrs}>{summary}{menu}</details>")

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"MultiSelect {self.component_id!r} needs a list value, got {value!r}")
        return {"selected": list(value)}

    def _reconcile_selection(self, updates: dict[str, Any]) -> dict[str, Any]:
        if "selected" in updates:
            return {}
        options = [Option.model_validate(o) for o in updates["options"]]
        return {"selected": [v for v in self.selected if _contains(options, v)]}


class _TextLike(ToolbarItem):
    value: str = ""
    placeholder: str = ""
    debounce: StrictInt = Field(default=300, ge=0, le=60_000)
    _set_keys = frozenset({"placeholder"})

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        return {"value": "" if value is None else value}


class TextInput(_TextLike):
    """A one-line text field.

    Payload: ``{"value": str, "componentId": id}``, sent ``debounce`` ms after typing stops and
    at once on change (blur or Enter).
    """

    kind: Literal["text"] = "text"
    event: str

    def render(self) -> str:
        """Render as a labelled ``<input type="text">``."""
        attrs = self._control_attrs(
            ("type", "text"),
            ("value", self.value),
            ("placeholder", self.placeholder or None),
            ("data-pywry-debounce", self.debounce),
            ("autocomplete", "off"),
            ("disabled", self.disabled),
            cls="pywry-tb-input",
        )
        return self._wrap(f"{self._label_for()}<input{attrs}>")


class TextArea(_TextLike):
    """A multi-line text field of ``rows`` lines.

    Payload: ``{"value": str, "componentId": id}``, debounced like TextInput.
    """

    kind: Literal["textarea"] = "textarea"
    event: str
    rows: StrictInt = Field(default=3, ge=1, le=200)

    def render(self) -> str:
        """Render as a labelled ``<textarea>``."""
        attrs = self._control_attrs(
            ("rows", self.rows),
            ("placeholder", self.placeholder or None),
            ("data-pywry-debounce", self.debounce),
            ("disabled", self.disabled),
            cls="pywry-tb-textarea",
        )
        return self._wrap(f"{self._label_for()}<textarea{attrs}>{_e(self.value)}</textarea>")


class SearchInput(_TextLike):
    """A search field.

    Payload: ``{"value": str, "componentId": id}``, debounced like TextInput.
    """

    kind: Literal["search"] = "search"
    event: str

    def render(self) -> str:
        """Render as a labelled ``<input type="search">``."""
        attrs = self._control_attrs(
            ("type", "search"),
            ("value", self.value or None),
            ("placeholder", self.placeholder or None),
            ("data-pywry-debounce", self.debounce),
            ("autocomplete", "off"),
            ("disabled", self.disabled),
            cls="pywry-tb-input pywry-tb-search",
        )
        return self._wrap(f"{self._label_for()}<input{attrs}>")


class SecretInput(ToolbarItem):
    """A password-style field whose value stays on the server.

    The model has no ``value`` field and its HTML never carries one.  When the user changes the
    field, the page posts ``{"value": secret, "componentId": id, "secret": true}`` once under the
    item's event and clears the field; the server stores the secret for this widget only and
    calls the callback with ``{"componentId": id, "hasValue": bool}``.
    """

    kind: Literal["secret"] = "secret"
    event: str
    placeholder: str = ""
    _set_keys = frozenset({"placeholder"})

    def render(self) -> str:
        """Render as a labelled ``<input type="password">`` without a value."""
        attrs = self._control_attrs(
            ("type", "password"),
            ("placeholder", self.placeholder or None),
            ("autocomplete", "new-password"),
            ("spellcheck", "false"),
            ("data-pywry-secret", "true"),
            ("disabled", self.disabled),
            cls="pywry-tb-input pywry-tb-secret",
        )
        return self._wrap(f"{self._label_for()}<input{attrs}>")

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        raise ValueError(
            f"SecretInput {self.component_id!r}: a secret cannot be set from Python; "
            "it is typed in the page and kept on the server"
        )


class _Bounded(ToolbarItem):
    """Numeric min/max/step checks shared by NumberInput, SliderInput and RangeInput."""

    min: Number | None = None
    max: Number | None = None
    step: Number | None = None
    _set_keys = frozenset({"min", "max", "step"})

    @field_validator("step")
    @classmethod
    def _positive_step(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError(f"step must be > 0, got {value!r}")
        return value

    def _check_bounds(self, **values: float | None) -> None:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min!r}) must be <= max ({self.max!r})")
        for name, value in values.items():
            if value is None:
                continue
            if self.min is not None and value < self.min:
                raise ValueError(f"{name} ({value!r}) is below min ({self.min!r})")
            if self.max is not None and value > self.max:
                raise ValueError(f"{name} ({value!r}) is above max ({self.max!r})")

    def _bound_attrs(self) -> list[tuple[str, object]]:
        return [
            ("min", _num(self.min)),
            ("max", _num(self.max)),
            ("step", _num(self.step) if self.step is not None else "any"),
        ]


class NumberInput(_Bounded):
    """A number field.

    Payload: ``{"value": number, "componentId": id}``, debounced while typing; an empty field
    sends nothing.
    """

    kind: Literal["number"] = "number"
    event: str
    value: Number | None = None
    placeholder: str = ""
    debounce: StrictInt = Field(default=300, ge=0, le=60_000)
    _set_keys = frozenset({"min", "max", "step", "placeholder"})

    @model_validator(mode="after")
    def _bounds(self) -> NumberInput:
        self._check_bounds(value=self.value)
        return self

    def render(self) -> str:
        """Render as a labelled ``<input type="number">``."""
        attrs = self._control_attrs(
            ("type", "number"),
            ("value", _num(self.value)),
            *self._bound_attrs(),
            ("placeholder", self.placeholder or None),
            ("data-pywry-debounce", self.debounce),
            ("inputmode", "decimal"),
            ("disabled", self.disabled),
            cls="pywry-tb-input pywry-tb-number",
        )
        return self._wrap(f"{self._label_for()}<input{attrs}>")

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        return {"value": value}


class DateInput(ToolbarItem):
    """A date picker.  ``value``, ``min`` and ``max`` are dates or ``"YYYY-MM-DD"`` strings.

    Payload: ``{"value": "YYYY-MM-DD", "componentId": id}`` (``None`` when cleared).
    """

    kind: Literal["date"] = "date"
    event: str
    value: date | None = None
    min: date | None = None
    max: date | None = None
    _set_keys = frozenset({"min", "max"})

    @field_validator("value", "min", "max", mode="before")
    @classmethod
    def _iso(cls, value: object, info: Any) -> date | None:
        return _coerce_date(value, info.field_name)

    @model_validator(mode="after")
    def _bounds(self) -> DateInput:
        if self.min and self.max and self.min > self.max:
            raise ValueError(
                f"min ({self.min.isoformat()}) must be <= max ({self.max.isoformat()})"
            )
        if self.value and self.min and self.value < self.min:
            raise ValueError(
                f"value ({self.value.isoformat()}) is before min ({self.min.isoformat()})"
            )
        if self.value and self.max and self.value > self.max:
            raise ValueError(
                f"value ({self.value.isoformat()}) is after max ({self.max.isoformat()})"
            )
        return self

    def render(self) -> str:
        """Render as a labelled ``<input type="date">``."""
        attrs = self._control_attrs(
            ("type", "date"),
            ("value", self.value.isoformat() if self.value else None),
            ("min", self.min.isoformat() if self.min else None),
            ("max", self.max.isoformat() if self.max else None),
            ("disabled", self.disabled),
            cls="pywry-tb-input pywry-tb-date",
        )
        return self._wrap(f"{self._label_for()}<input{attrs}>")

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        return {"value": value}


class SliderInput(_Bounded):
    """A slider between ``min`` (default 0) and ``max`` (default 100).

    Payload: ``{"value": number, "componentId": id}``, sent when the slider is released.
    ``show_value`` shows the current number beside it.
    """

    kind: Literal["slider"] = "slider"
    event: str
    value: Number | None = None
    min: Number = 0
    max: Number = 100
    step: Number = 1
    show_value: StrictBool = True

    @model_validator(mode="after")
    def _bounds(self) -> SliderInput:
        if self.value is None:
            self.value = self.min
        self._check_bounds(value=self.value)
        return self

    def render(self) -> str:
        """Render as a labelled ``<input type="range">`` with an ``<output>``."""
        attrs = self._control_attrs(
            ("type", "range"),
            ("value", _num(self.value)),
            *self._bound_attrs(),
            ("disabled", self.disabled),
            cls="pywry-tb-slider",
        )
        out = _attrs(
            [
                ("class", "pywry-tb-slider-value"),
                ("for", self.component_id),
                ("data-pywry-display-for", self.component_id),
                ("hidden", not self.show_value),
            ]
        )
        return self._wrap(
            f"{self._label_for()}<input{attrs}><output{out}>{_e(_num(self.value))}</output>"
        )

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        return {"value": value}


class RangeInput(_Bounded):
    """Two handles choosing a ``start``..``end`` span within ``min``..``max``.

    Payload: ``{"start": number, "end": number, "componentId": id}``, sent when a handle is
    released.  ``start``/``end`` default to ``min``/``max``.
    """

    kind: Literal["range"] = "range"
    event: str
    start: Number | None = None
    end: Number | None = None
    min: Number = 0
    max: Number = 100
    step: Number = 1
    show_value: StrictBool = True

    @model_validator(mode="after")
    def _bounds(self) -> RangeInput:
        if self.start is None:
            self.start = self.min
        if self.end is None:
            self.end = self.max
        self._check_bounds(start=self.start, end=self.end)
        if self.start > self.end:
            raise ValueError(f"start ({self.start!r}) must be <= end ({self.end!r})")
        return self

    def render(self) -> str:
        """Render as a group of two ``<input type="range">`` handles."""
        attrs = self._control_attrs(
            ("role", "group"),
            ("aria-labelledby", f"{self.component_id}-label"),
            ("aria-disabled", "true" if self.disabled else None),
            cls="pywry-tb-range",
        )
        handles = []
        for part, value in (("start", self.start), ("end", self.end)):
            handle = _attrs(
                [
                    ("type", "range"),
                    ("class", f"pywry-tb-range-{part}"),
                    ("data-pywry-part", part),
                    ("value", _num(value)),
                    *self._bound_attrs(),
                    ("aria-label", f"{self.label or 'Range'} {part}"),
                    ("disabled", self.disabled),
                ]
            )
            handles.append(f"<input{handle}>")
        out = _attrs(
            [
                ("class", "pywry-tb-range-value"),
                ("data-pywry-display-for", self.component_id),
                ("hidden", not self.show_value),
            ]
        )
        track = f'<div class="pywry-tb-range-track">{"".join(handles)}</div>'
        output = f"<output{out}>{_e(_num(self.start))} \u2013 {_e(_num(self.end))}</output>"
        return self._wrap(f"{self._label_span()}<div{attrs}>{track}{output}</div>")

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict) and set(value) <= {"start", "end"}:
            return dict(value)
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return {"start": value[0], "end": value[1]}
        raise ValueError(
            f"RangeInput {self.component_id!r} needs a value like {{'start': s, 'end': e}} "
            f"or [s, e], got {value!r}"
        )


class _BoolItem(ToolbarItem):
    value: StrictBool = False

    def _set_value_updates(self, value: Any) -> dict[str, Any]:
        return {"value": value}

    def _render_check(self, input_cls: str, extra: str, role: str | None) -> str:
        attrs = self._control_attrs(
            ("type", "checkbox"),
            ("role", role),
            ("checked", self.value),
            ("disabled", self.disabled),
            cls=input_cls,
        )
        text = _attrs(
            [
                ("class", "pywry-tb-label"),
                ("data-pywry-label-for", self.component_id),
                ("hidden", not self.label),
            ]
        )
        return self._wrap(
            f'<label class="pywry-tb-{self.kind}"><input{attrs}>{extra}'
            f"<span{text}>{_e(self.label)}</span></label>"
        )


class Toggle(_BoolItem):
    """An on/off switch.

    Payload: ``{"value": bool, "componentId": id}``.
    """

    kind: Literal["toggle"] = "toggle"
    event: str

    def render(self) -> str:
        """Render as a checkbox with ``role="switch"`` styled as a switch."""
        track = (
            '<span class="pywry-tb-toggle-track" aria-hidden="true">'
            '<span class="pywry-tb-toggle-thumb"></span></span>'
        )
        return self._render_check("pywry-tb-toggle-input", track, "switch")


class Checkbox(_BoolItem):
    """A checkbox.

    Payload: ``{"value": bool, "componentId": id}``.
    """

    kind: Literal["checkbox"] = "checkbox"
    event: str

    def render(self) -> str:
        """Render as a labelled ``<input type="checkbox">``."""
        return self._render_check("pywry-tb-checkbox-input", "", None)


class RadioGroup(_SingleChoice):
    """A group of radio buttons.

    Payload: ``{"value": option_value, "componentId": id}``.
    """

    kind: Literal["radio"] = "radio"
    event: str
    direction: Literal["horizontal", "vertical"] = "horizontal"

    def render(self) -> str:
        """Render as ``role="radiogroup"`` holding one radio per option."""
        attrs = self._control_attrs(
            ("role", "radiogroup"),
            ("aria-labelledby", f"{self.component_id}-label"),
            ("aria-disabled", "true" if self.disabled else None),
            cls=f"pywry-tb-radio-group pywry-tb-{self.direction}",
        )
        radios = []
        for opt in self.options:
            radio = _attrs(
                [
                    ("type", "radio"),
                    ("name", self.component_id),
                    ("value", opt._str_value()),
                    ("data-pywry-value", _json(opt.value)),
                    ("checked", self._is_selected(opt)),
                    ("disabled", self.disabled),
                ]
            )
            radios.append(
                f'<label class="pywry-tb-radio"><input{radio}><span>{_e(opt.label)}</span></label>'
            )
        return self._wrap(f"{self._label_span()}<div{attrs}>{''.join(radios)}</div>")


class TabGroup(_SingleChoice):
    """A row of tabs, one of which is selected (the first when ``selected`` is not given).

    Payload: ``{"value": option_value, "componentId": id}`` when another tab is clicked.
    """

    kind: Literal["tabs"] = "tabs"
    event: str

    @model_validator(mode="after")
    def _default_tab(self) -> TabGroup:
        if self.selected is None and self.options:
            self.selected = self.options[0].value
        return self

    def render(self) -> str:
        """Render as ``role="tablist"`` holding one ``<button role="tab">`` per option."""
        attrs = self._control_attrs(
            ("role", "tablist"),
            ("aria-labelledby", f"{self.component_id}-label" if self.label else None),
            ("aria-disabled", "true" if self.disabled else None),
            cls="pywry-tb-tabs",
        )
        tabs = []
        for opt in self.options:
            on = self._is_selected(opt)
            tab = _attrs(
                [
                    ("type", "button"),
                    ("role", "tab"),
                    ("class", "pywry-tb-tab pywry-tb-active" if on else "pywry-tb-tab"),
                    ("aria-selected", "true" if on else "false"),
                    ("data-pywry-value", _json(opt.value)),
                    ("disabled", self.disabled),
                ]
            )
            tabs.append(f"<button{tab}>{_e(opt.label)}</button>")
        return self._wrap(f"{self._label_span()}<div{attrs}>{''.join(tabs)}</div>")

    def _reconcile_selection(self, updates: dict[str, Any]) -> dict[str, Any]:
        options = [Option.model_validate(o) for o in updates["options"]]
        selected = updates.get("selected", self.selected)
        if selected is None or not _contains(options, selected):
            return {"selected": options[0].value if options else None}
        return {}


class Div(ToolbarItem):
    """A block of the author's own HTML (``content`` is *not* escaped; never put visitor input in
    it).  ``event`` is optional: when given, a click sends
    ``{"componentId": id, "value": v}`` where ``v`` is the ``data-value`` of the clicked element
    inside the div (or None).  ``toolbar:set-value`` with ``"text"`` replaces the content with
    plain text.
    """

    kind: Literal["div"] = "div"
    content: str = ""
    _set_keys = frozenset({"text"})

    def render(self) -> str:
        """Render as a ``<div>`` holding ``content`` verbatim."""
        attrs = self._control_attrs(
            ("role", "button" if self.event else None),
            ("tabindex", "0" if self.event else None),
            ("aria-disabled", "true" if self.disabled and self.event else None),
            cls="pywry-tb-div",
        )
        label = self._label_span() if self.label else ""
        return self._wrap(f"{label}<div{attrs}>{self.content}</div>")

    def _set_other(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, str):
            raise ValueError(f"text must be a string, got {value!r}")
        return {"content": html.escape(value, quote=True)}


class TickerItem(_Component):
    """One entry of a Marquee: ``text`` shown, ``value`` (defaults to ``text``) sent on click.

    ``event`` overrides the marquee's event for this entry.  ``toolbar:set-value`` on a ticker's
    ``component_id`` changes its ``text`` (key ``"text"``) or its click ``value``.
    """

    kind: Literal["ticker"] = "ticker"
    text: str
    value: OptionValue | None = None

    @model_validator(mode="after")
    def _default_value(self) -> TickerItem:
        if self.value is None:
            self.value = self.text
        return self

    def render(self, marquee: Marquee | None = None) -> str:
        """Render as a ``<span>``; clickable when it (or its marquee) has an event."""
        event = self.event or (marquee.event if marquee else None)
        clickable = bool(event) and not self.disabled
        attrs = _attrs(
            [
                ("id", self.component_id),
                ("class", "pywry-tb-ticker"),
                ("data-pywry-kind", "ticker"),
                ("data-pywry-component", self.component_id),
                ("data-pywry-event", event),
                ("data-pywry-value", _json(self.value)),
                ("data-pywry-marquee", marquee.component_id if marquee else None),
                ("role", "button" if clickable else None),
                ("tabindex", "0" if clickable else None),
                ("aria-disabled", "true" if self.disabled and event else None),
                ("title", self.description or None),
                ("style", self.style or None),
            ]
        )
        return f"<span{attrs}>{_e(self.text)}</span>"

    def _apply_set_value(self, data: dict[str, Any]) -> None:
        updates: dict[str, Any] = {}
        for key, val in data.items():
            if key == "componentId" or val is None and key != "value":
                continue
            if key in ("value", "text", "description", "disabled"):
                updates[key] = val
            else:
                raise ValueError(
                    f"toolbar:set-value key {key!r} does not apply to "
                    f"TickerItem {self.component_id!r}"
                )
        self._apply_updates(updates)


class Marquee(ToolbarItem):
    """A scrolling ticker of ``items`` (TickerItem or plain strings).

    ``speed`` is the time in seconds of one full pass (lower is faster); ``direction`` is
    ``left`` or ``right``; ``pause_on_hover`` stops it under the mouse.  ``event`` is optional:
    clicking an entry sends ``{"value": ticker_value, "componentId": ticker_id,
    "marqueeId": marquee_id}`` under the entry's own event or else the marquee's.
    """

    kind: Literal["marquee"] = "marquee"
    items: list[TickerItem] = Field(default_factory=list)
    speed: Number = Field(default=20, gt=0, le=3600)
    direction: Literal["left", "right"] = "left"
    pause_on_hover: StrictBool = True

    @field_validator("items", mode="before")
    @classmethod
    def _strings_to_tickers(cls, value: object) -> object:
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
            raise ValueError(
                f"items must be a list of TickerItem or str, got {type(value).__name__}"
            )
        return [TickerItem(text=v) if isinstance(v, str) else v for v in value]

    def render(self) -> str:
        """Render as a clipped box holding an animated track of ticker spans."""
        style = f"--pywry-marquee-duration:{_num(self.speed)}s;{self.style}"
        cls = f"pywry-tb-marquee pywry-tb-marquee-{self.direction}"
        if self.pause_on_hover:
            cls += " pywry-tb-marquee-pause"
        attrs = _attrs(
            [
                ("id", self.component_id),
                ("class", cls),
                ("data-pywry-kind", "marquee"),
                ("data-pywry-component", self.component_id),
                ("title", self.description or None),
                ("style", style),
            ]
        )
        tickers = "".join(t.render(self) for t in self.items)
        label = self._label_span() if self.label else ""
        return self._wrap(
            f'{label}<div{attrs}><div class="pywry-tb-marquee-track">{tickers}</div></div>'
        )


_ITEM_TYPES: tuple[type[ToolbarItem], ...] = (
    Button,
    Select,
    MultiSelect,
    TextInput,
    TextArea,
    SearchInput,
    SecretInput,
    NumberInput,
    DateInput,
    SliderInput,
    RangeInput,
    Toggle,
    Checkbox,
    RadioGroup,
    TabGroup,
    Div,
    Marquee,
)
_KINDS = {t.model_fields["kind"].default: t for t in _ITEM_TYPES}

AnyItem = Annotated[
    Button
    | Select
    | MultiSelect
    | TextInput
    | TextArea
    | SearchInput
    | SecretInput
    | NumberInput
    | DateInput
    | SliderInput
    | RangeInput
    | Toggle
    | Checkbox
    | RadioGroup
    | TabGroup
    | Div
    | Marquee,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- toolbar


class Toolbar(_Model):
    """A bar of items placed around a widget's content.

    ``position`` is one of ``top``, ``bottom``, ``left``, ``right`` (vertical), ``header`` (above
    everything, full width), ``footer`` (below everything) or ``inside`` (floating over the
    content's top-right corner).  ``class_name`` adds CSS classes, ``style`` inline CSS.
    """

    position: Position = "top"
    items: list[AnyItem] = Field(default_factory=list)
    component_id: str = ""
    class_name: str = ""
    style: str = ""

    @model_validator(mode="before")
    @classmethod
    def _fill_component_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("component_id") in (None, ""):
            pos = data.get("position", "top")
            data = {
                **data,
                "component_id": _auto_id(
                    f"toolbar-{pos}" if isinstance(pos, str) else "", "toolbar"
                ),
            }
        return data

    @field_validator("component_id")
    @classmethod
    def _valid_component_id(cls, value: str) -> str:
        return _check_component_id(value)

    @field_validator("class_name")
    @classmethod
    def _valid_class_name(cls, value: str) -> str:
        for token in value.split():
            if not CLASS_NAME_RE.fullmatch(token):
                raise ValueError(
                    f"class_name {value!r} contains {token!r}, which is not a CSS class name"
                )
        return value

    @field_validator("items", mode="before")
    @classmethod
    def _items_are_components(cls, value: object) -> object:
        if isinstance(value, (str, bytes, dict, BaseModel)) or not isinstance(value, Iterable):
            raise ValueError(f"items must be a list of toolbar items, got {type(value).__name__}")
        value = list(value)
        names = ", ".join(t.__name__ for t in _ITEM_TYPES)
        for i, item in enumerate(value):
            if isinstance(item, TickerItem):
                raise ValueError(f"items[{i}] is a TickerItem; put tickers in Marquee(items=[...])")
            if isinstance(item, dict):
                if item.get("kind") not in _KINDS:
                    raise ValueError(
                        f"items[{i}] has kind {item.get('kind')!r}; "
                        f"expected one of {sorted(_KINDS)}"
                    )
            elif not isinstance(item, _ITEM_TYPES):
                raise ValueError(
                    f"items[{i}] is a {type(item).__name__}, not a toolbar item ({names})"
                )
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Toolbar:
        seen: set[str] = {self.component_id}
        for comp in self.iter_components():
            if comp.component_id in seen:
                raise ValueError(
                    f"component_id {comp.component_id!r} is used more than once in the toolbar"
                )
            seen.add(comp.component_id)
        return self

    # -- queries

    def iter_components(self) -> Iterator[ToolbarItem | TickerItem]:
        """Every item, and every ticker inside a Marquee, in order."""
        for item in self.items:
            yield item
            if isinstance(item, Marquee):
                yield from item.items

    def find(self, component_id: str) -> ToolbarItem | TickerItem | None:
        """The item (or ticker) with this ``component_id``, or None."""
        for comp in self.iter_components():
            if comp.component_id == component_id:
                return comp
        return None

    @property
    def secrets(self) -> set[str]:
        """Component ids of this toolbar's SecretInputs."""
        return {i.component_id for i in self.items if isinstance(i, SecretInput)}

    @property
    def events(self) -> set[str]:
        """Every event name this toolbar's items can send."""
        return {c.event for c in self.iter_components() if c.event}

    # -- rendering

    def render(self) -> str:
        """Render the toolbar and its items as HTML."""
        vertical = self.position in ("left", "right")
        cls = f"pywry-toolbar pywry-toolbar-{self.position}"
        if self.class_name:
            cls += f" {self.class_name}"
        attrs = _attrs(
            [
                ("id", self.component_id),
                ("class", cls),
                ("role", "toolbar"),
                ("aria-orientation", "vertical" if vertical else "horizontal"),
                ("data-pywry-toolbar", self.position),
                ("style", self.style or None),
            ]
        )
        return f"<div{attrs}>{''.join(item.render() for item in self.items)}</div>"

    # -- toolbar:set-value

    def set_value(self, component_id: str, value: Any = ..., **extra: Any) -> dict[str, Any]:
        """Validate a value for one of this toolbar's items, record it, and return the data of a
        ``toolbar:set-value`` message, ready for ``widget.emit("toolbar:set-value", ...)``.

        Recording it means the toolbar renders with the new value from now on.  Raises
        ValueError for an unknown ``component_id`` or a value the item refuses.
        """
        data = set_value_message(component_id, value, **extra)
        comp = self.find(component_id)
        if comp is None:
            raise ValueError(
                f"no item with component_id {component_id!r} in toolbar {self.component_id!r}"
            )
        try:
            comp._apply_set_value(data)
        except ValidationError as exc:
            raise ValueError(f"toolbar:set-value for {component_id!r}: {exc}") from None
        return data


# --------------------------------------------------------------------------- functions

_SET_VALUE_KEYS: dict[str, type | tuple[type, ...]] = {
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude={"kind"})
    return value


def _options_message(value: object) -> list[dict[str, Any]]:
    opts: list[Option] = []
    for i, o in enumerate(_coerce_options(value)):
        try:
            opts.append(o if isinstance(o, Option) else Option.model_validate(o))
        except ValidationError as exc:
            raise ValueError(f"options[{i}] {o!r} is not an option: {exc}") from None
    _check_unique_options(opts)
    return [{"label": o.label, "value": o.value} for o in opts]


def set_value_message(component_id: str, value: Any = ..., **extra: Any) -> dict[str, Any]:
    """Build the data of a ``toolbar:set-value`` message.

    ``set_value_message("region", "north")`` -> ``{"componentId": "region", "value": "north"}``.
    Leave ``value`` out to change only other things.  Keyword arguments: ``options`` (list of
    Option, str, number or ``{"label", "value"}`` dicts), ``disabled``, ``label``,
    ``description``, ``placeholder``, ``text``, ``min``, ``max``, ``step``; ``None`` ones are
    left out.  Raises TypeError for an unknown keyword and ValueError for a bad value, naming it.
    """
    _check_component_id(component_id, "component_id")
    data: dict[str, Any] = {"componentId": component_id}
    if value is not ...:
        data["value"] = _check_json(_jsonable(value), "value")
    for key, val in extra.items():
        if key not in _SET_VALUE_KEYS:
            raise TypeError(
                f"set_value_message() got an unknown keyword {key!r}; "
                f"expected one of {sorted(_SET_VALUE_KEYS)}"
            )
        if val is None:
            continue
        kind = _SET_VALUE_KEYS[key]
        if key == "options":
            data["options"] = _options_message(val)
            continue
        if isinstance(val, date):
            val = val.isoformat()
        if (kind is not bool and isinstance(val, bool)) or not isinstance(val, kind):
            raise ValueError(f"{key} {val!r} has the wrong type ({type(val).__name__})")
        if isinstance(val, float):
            _check_json(val, key)
        data[key] = val
    return data


def _as_toolbars(toolbars: Iterable[Toolbar | dict[str, Any]] | Toolbar | None) -> list[Toolbar]:
    if toolbars is None:
        return []
    if isinstance(toolbars, (Toolbar, dict)):
        toolbars = [toolbars]
    if isinstance(toolbars, (str, bytes)) or not isinstance(toolbars, Iterable):
        raise TypeError(f"toolbars must be a list of Toolbar, got {type(toolbars).__name__}")
    out = []
    for i, tb in enumerate(toolbars):
        if isinstance(tb, Toolbar):
            out.append(tb)
        elif isinstance(tb, dict):
            out.append(Toolbar.model_validate(tb))
        else:
            raise TypeError(f"toolbars[{i}] is a {type(tb).__name__}, not a Toolbar")
    return out


def collect_secret_ids(toolbars: Iterable[Toolbar] | Toolbar | None) -> set[str]:
    """Component ids of every SecretInput in ``toolbars``."""
    ids: set[str] = set()
    for tb in _as_toolbars(toolbars):
        ids |= tb.secrets
    return ids


def apply_set_value(toolbars: Iterable[Toolbar] | Toolbar | None, data: dict[str, Any]) -> bool:
    """Record a ``toolbar:set-value`` message's data in the toolbar models (so pages rendered
    later show it).  Returns False when no item has its ``componentId``; raises ValueError when
    the data does not fit the item."""
    if not isinstance(data, dict):
        raise ValueError(f"toolbar:set-value data must be an object, got {data!r}")
    cid = data.get("componentId")
    for tb in _as_toolbars(toolbars):
        comp = tb.find(cid) if isinstance(cid, str) else None
        if comp is not None:
            try:
                comp._apply_set_value(data)
            except ValidationError as exc:
                raise ValueError(f"toolbar:set-value for {cid!r}: {exc}") from None
            return True
    return False


def render_layout(content_html: str, toolbars: Iterable[Toolbar] | Toolbar | None) -> str:
    """Wrap ``content_html`` with ``toolbars`` in their positions.

    Layout: header toolbars above everything (full width); then a row of left toolbars |
    [top toolbars, the content, bottom toolbars] | right toolbars; then footer toolbars.
    ``inside`` toolbars float over the content's top-right corner.  Toolbars of one position
    keep the order given.  The content sits in ``<div class="pywry-content">``.  With no
    toolbars the content is returned unchanged.
    """
    bars = _as_toolbars(toolbars)
    if not bars:
        return content_html
    seen: dict[str, str] = {}
    for tb in bars:
        for cid in [tb.component_id, *(c.component_id for c in tb.iter_components())]:
            if cid in seen:
                raise ValueError(f"component_id {cid!r} is used by more than one toolbar item")
            seen[cid] = tb.component_id
    by_pos: dict[str, list[str]] = {p: [] for p in POSITIONS}
    for tb in bars:
        by_pos[tb.position].append(tb.render())

    def region(pos: str) -> str:
        if not by_pos[pos]:
            return ""
        return f'<div class="pywry-layout-{pos}">{"".join(by_pos[pos])}</div>'

    inside = region("inside")
    content = (
        f'<div class="pywry-content-wrap"><div class="pywry-content">{content_html}</div>'
        f"{inside}</div>"
    )
    main = f'<div class="pywry-layout-main">{region("top")}{content}{region("bottom")}</div>'
    row = f'<div class="pywry-layout-row">{region("left")}{main}{region("right")}</div>'
    return f'<div class="pywry-layout">{region("header")}{row}{region("footer")}</div>'
