"""The Toolbar model: a positioned bar of items, with lookups, rendering and ``set_value``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from .base import StrictModel, ToolbarItem
from .button import Button
from .choice import MultiSelect, RadioGroup, Select, TabGroup
from .dates import DateInput
from .display import Div, Marquee, TickerItem
from .fields import ComponentId, check_class_name
from .ids import auto_id, with_id_hint
from .markup import attrs
from .messages import SetValueData, set_value_message
from .numbers import NumberInput, RangeInput, SliderInput
from .switches import Checkbox, Toggle
from .text import SearchInput, SecretInput, TextArea, TextInput

#: The positions in the order their regions appear in the page.
POSITIONS = ("header", "left", "top", "inside", "bottom", "right", "footer")
Position = Literal["top", "bottom", "left", "right", "header", "footer", "inside"]

ITEM_TYPES: tuple[type[ToolbarItem], ...] = (
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
#: The ``kind`` of every item type, as given in an item dict.
ITEM_KINDS = frozenset(str(t.model_fields["kind"].default) for t in ITEM_TYPES)

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


class Toolbar(StrictModel):
    """A bar of items placed around a widget's content.

    ``position`` is one of ``top``, ``bottom``, ``left``, ``right`` (vertical), ``header`` (above
    everything, full width), ``footer`` (below everything) or ``inside`` (floating over the
    content's top-right corner).  ``class_name`` adds CSS classes, ``style`` inline CSS.
    ``component_id`` is generated from the position and the items when not given.
    """

    position: Position = "top"
    items: list[AnyItem] = Field(default_factory=list)
    component_id: ComponentId = ""
    class_name: str = ""
    style: str = ""

    @field_validator("class_name")
    @classmethod
    def _valid_class_name(cls, value: str) -> str:
        return check_class_name(value)

    @field_validator("items", mode="before")
    @classmethod
    def _items_are_components(cls, value: object) -> object:
        if isinstance(value, (str, bytes, dict, BaseModel)) or not isinstance(value, Iterable):
            raise ValueError(f"items must be a list of toolbar items, got {type(value).__name__}")
        value = list(value)
        names = ", ".join(t.__name__ for t in ITEM_TYPES)
        for i, item in enumerate(value):
            if isinstance(item, TickerItem):
                raise ValueError(f"items[{i}] is a TickerItem; put tickers in Marquee(items=[...])")
            if isinstance(item, dict):
                if item.get("kind") not in ITEM_KINDS:
                    raise ValueError(
                        f"items[{i}] has kind {item.get('kind')!r}; "
                        f"expected one of {sorted(ITEM_KINDS)}"
                    )
            elif not isinstance(item, ITEM_TYPES):
                raise ValueError(
                    f"items[{i}] is a {type(item).__name__}, not a toolbar item ({names})"
                )
        return value

    @model_validator(mode="after")
    def _ids(self) -> Toolbar:
        if not self.component_id:
            content = self.model_dump(mode="json", exclude={"component_id"})
            self.component_id = auto_id(f"toolbar-{self.position}", "toolbar", content)
        seen: set[str] = {self.component_id}
        for comp in self.iter_components():
            if comp.component_id in seen:
                raise ValueError(
                    with_id_hint(
                        f"component_id {comp.component_id!r} is used more than once in the toolbar",
                        comp.component_id,
                    )
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
        bar_attrs = attrs(
            [
                ("id", self.component_id),
                ("class", cls),
                ("role", "toolbar"),
                ("aria-orientation", "vertical" if vertical else "horizontal"),
                ("data-pywry-toolbar", self.position),
                ("style", self.style or None),
            ]
        )
        return f"<div{bar_attrs}>{''.join(item.render() for item in self.items)}</div>"

    # -- toolbar:set-value

    def set_value(self, component_id: str, value: object = ..., **extra: object) -> SetValueData:
        """Validate a value for one of this toolbar's items, record it, and return the data of a
        ``toolbar:set-value`` message.

        Recording it means this toolbar object renders with the new value from now on.  A shown
        widget works on its own copy of its toolbars: to change what its pages show, use
        ``widget.set_toolbar_value(...)``.  Raises ValueError for an unknown ``component_id`` or
        a value the item refuses.
        """
        data = set_value_message(component_id, value, **extra)
        if not apply_to_toolbar(self, data):
            raise ValueError(
                f"no item with component_id {component_id!r} in toolbar {self.component_id!r}"
            )
        return data


def apply_to_toolbar(toolbar: Toolbar, data: Mapping[str, object]) -> bool:
    """Apply ``toolbar:set-value`` data to the item of ``toolbar`` with its ``componentId``.

    Returns False when no item has that id; raises ValueError when the data does not fit (and
    then changes nothing).
    """
    cid = data.get("componentId")
    comp = toolbar.find(cid) if isinstance(cid, str) else None
    if comp is None:
        return False
    try:
        comp._apply_set_value(data)
    except ValidationError as exc:
        raise ValueError(f"toolbar:set-value for {cid!r}: {exc}") from None
    return True
