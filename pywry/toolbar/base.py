"""Base models of everything in a toolbar: shared fields, label/wrapper HTML, set-value dispatch.

:class:`Component` is anything that has an id and can send or receive events (an item or a
ticker); :class:`ToolbarItem` adds the label and the rendering helpers every item kind uses.
``toolbar:set-value`` data is applied through ``Component._apply_set_value``, which each kind
tailors by overriding the small ``_set_*`` hooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from .errors import one_line
from .fields import ComponentId, check_event
from .ids import auto_id
from .markup import attrs, escape

#: Updates of model fields, by field name, produced from ``toolbar:set-value`` data.
Updates = dict[str, object]


class StrictModel(BaseModel):
    """Refuses unknown fields (so typos are errors) and NaN/infinite numbers (not JSON).

    Its errors are :class:`~pywry.toolbar.errors.ToolbarError`: one line per mistake, with
    "did you mean ...?" for a misspelled argument or position.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise one_line(exc, type(self)) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """`BaseModel.model_validate`, with the one-line errors of the constructor."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise one_line(exc, cls) from None


class Component(StrictModel):
    """Identity, event and common attributes of anything that can fire or be updated."""

    kind: str = ""
    component_id: ComponentId = ""
    description: str = ""
    disabled: StrictBool = False
    style: str = ""
    event: str | None = None

    @field_validator("event")
    @classmethod
    def _valid_event(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return check_event(value)

    @model_validator(mode="after")
    def _fill_component_id(self) -> Component:
        if not self.component_id:
            content = self.model_dump(mode="json", exclude={"component_id"})
            self.component_id = auto_id(self.event, self.kind, content)
        return self

    # -- toolbar:set-value

    def _apply_set_value(self, data: Mapping[str, object]) -> None:
        """Validate ``data`` (a ``toolbar:set-value`` message) against this item, then apply it.

        Keys other than ``componentId`` map to field updates through :meth:`_set_key`; ``None``
        means "leave unchanged" except for ``value``.  Nothing changes when any key is refused.
        """
        updates: Updates = {}
        for key, val in data.items():
            if key == "componentId" or val is None and key != "value":
                continue
            updates.update(self._set_key(key, val))
        if "options" in updates:
            updates.update(self._reconcile_selection(updates))
        self._apply_updates(updates)

    def _set_key(self, key: str, value: object) -> Updates:
        """Field updates for one ``toolbar:set-value`` key; overridden per kind."""
        raise self._refuse(key)

    def _refuse(self, key: str) -> ValueError:
        return ValueError(
            f"toolbar:set-value key {key!r} does not apply to "
            f"{type(self).__name__} {self.component_id!r}"
        )

    def _reconcile_selection(self, updates: Updates) -> Updates:
        """Selection changes implied by new ``options`` (kinds with options override it)."""
        return {}

    def _apply_updates(self, updates: Updates) -> None:
        """Validate ``updates`` on a copy, then set them, so a bad update changes nothing."""
        if not updates:
            return
        trial = type(self).model_validate({**self.model_dump(), **updates})
        for name in updates:
            setattr(self, name, getattr(trial, name))


class ToolbarItem(Component):
    """Fields shared by every toolbar item.

    - ``component_id``: the element's id; when not given it is generated as
      ``tb-<event>-<digest>`` from the item's fields (identical items get identical ids).  Give
      one explicitly when Python refers to the item (``toolbar:set-value``).
    - ``label``: visible text; ``description``: tooltip; ``disabled``; ``style``: inline CSS.
    - ``event``: ``namespace:name`` sent to Python (required for interactive items).
    """

    label: str = ""

    # the toolbar:set-value keys this kind understands besides value/label/description/disabled
    _set_keys: ClassVar[frozenset[str]] = frozenset()

    # -- rendering helpers

    def _control_attrs(self, *extra: tuple[str, object], cls: str = "") -> str:
        return attrs(
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

    def _labelled_input(
        self, input_type: str, *extra: tuple[str, object], cls: str, after: str = ""
    ) -> str:
        """The item as its ``<label for>`` and an ``<input>`` of ``input_type``, then ``after``.

        The input has the control's attributes, ``extra``, and ``disabled`` last.
        """
        input_attrs = self._control_attrs(
            ("type", input_type), *extra, ("disabled", self.disabled), cls=cls
        )
        return self._wrap(f"{self._label_for()}<input{input_attrs}>{after}")

    def _wrap(self, inner: str) -> str:
        cls = f"pywry-tb-item pywry-tb-item-{self.kind}"
        if self.disabled:
            cls += " pywry-tb-disabled"
        return f'<div class="{cls}" data-pywry-item="{escape(self.component_id)}">{inner}</div>'

    def _label(self, tag: str, *link: tuple[str, object]) -> str:
        """The item's label as ``<tag>`` (hidden while empty), tied to the control by ``link``."""
        label_attrs = attrs(
            [
                ("class", "pywry-tb-label"),
                *link,
                ("data-pywry-label-for", self.component_id),
                ("hidden", not self.label),
            ]
        )
        return f"<{tag}{label_attrs}>{escape(self.label)}</{tag}>"

    def _label_for(self) -> str:
        """A ``<label for>`` (for labelable controls)."""
        return self._label("label", ("for", self.component_id))

    def _label_span(self) -> str:
        """A label for a group (radio, tabs, ...), referenced by ``aria-labelledby``."""
        return self._label("span", ("id", f"{self.component_id}-label"))

    def render(self) -> str:  # pragma: no cover - every concrete item overrides it
        """Render the item as an HTML string."""
        raise NotImplementedError

    # -- toolbar:set-value hooks

    def _set_key(self, key: str, value: object) -> Updates:
        if key == "value":
            return self._set_value_updates(value)
        if key in ("label", "description", "disabled"):
            return {key: value}
        if key in self._set_keys:
            return self._set_other(key, value)
        raise self._refuse(key)

    def _set_value_updates(self, value: object) -> Updates:
        """Model fields to change for a ``toolbar:set-value`` value; overridden per kind."""
        raise ValueError(f"{type(self).__name__} {self.component_id!r} has no value to set")

    def _set_other(self, key: str, value: object) -> Updates:
        """Field updates for a kind-specific key listed in ``_set_keys``."""
        return {key: value}
