"""Items that choose among options: Select, MultiSelect, RadioGroup and TabGroup.

The selection must always be one of the option values; when ``toolbar:set-value`` replaces the
options, a selection that no longer fits is dropped (or, for tabs, moved to the first tab).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .base import ToolbarItem, Updates
from .fields import OptionValue, ValueKey, value_key
from .markup import attrs, escape, to_json
from .options import (
    Option,
    check_unique_options,
    coerce_options,
    contains,
    option_value,
    options_message,
    parse_options,
)


class _OptionsItem(ToolbarItem):
    """An item with a list of ``options`` that ``toolbar:set-value`` can replace."""

    options: list[Option] = Field(default_factory=list)
    _set_keys = frozenset({"options"})

    @field_validator("options", mode="before")
    @classmethod
    def _options_in(cls, value: object) -> object:
        return coerce_options(value)

    @field_validator("options")
    @classmethod
    def _options_unique(cls, value: list[Option]) -> list[Option]:
        check_unique_options(value)
        return value

    def _is_selected(self, opt: Option) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def _option_inputs(self, input_type: str, label_cls: str, name: str | None = None) -> str:
        """One labelled ``<input>`` (checkbox or radio) per option."""
        out = []
        for opt in self.options:
            input_attrs = attrs(
                [
                    ("type", input_type),
                    ("name", name),
                    ("value", opt.str_value()),
                    ("data-pywry-value", to_json(opt.value)),
                    ("checked", self._is_selected(opt)),
                    ("disabled", self.disabled),
                ]
            )
            out.append(
                f'<label class="{label_cls}"><input{input_attrs}>'
                f"<span>{escape(opt.label)}</span></label>"
            )
        return "".join(out)

    def _set_other(self, key: str, value: object) -> Updates:
        if key == "options":
            return {"options": options_message(value)}
        return super()._set_other(key, value)


class _SingleChoice(_OptionsItem):
    """An options item with at most one ``selected`` value."""

    selected: OptionValue | None = None

    @model_validator(mode="after")
    def _selected_in_options(self) -> _SingleChoice:
        if self.selected is not None:
            if not contains(self.options, self.selected):
                values = [o.value for o in self.options]
                raise ValueError(
                    f"selected {self.selected!r} is not one of the option values {values!r}"
                )
            self.selected = option_value(self.options, self.selected)
        return self

    def _is_selected(self, opt: Option) -> bool:
        return self.selected is not None and value_key(opt.value) == value_key(self.selected)

    def _set_value_updates(self, value: object) -> Updates:
        return {"selected": value}

    def _reconcile_selection(self, updates: Updates) -> Updates:
        if "selected" in updates:
            return {}
        options = parse_options(updates["options"])
        if self.selected is not None and not contains(options, self.selected):
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
        select_attrs = self._control_attrs(("disabled", self.disabled), cls="pywry-tb-select")
        opts = "".join(o.render(self._is_selected(o)) for o in self.options)
        return self._wrap(f"{self._label_for()}<select{select_attrs}>{opts}</select>")


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
        seen: set[ValueKey] = set()
        out: list[OptionValue] = []
        for value in self.selected:
            if not contains(self.options, value):
                values = [o.value for o in self.options]
                raise ValueError(
                    f"selected value {value!r} is not one of the option values {values!r}"
                )
            key = value_key(value)
            if key in seen:
                raise ValueError(f"selected has the value {value!r} more than once")
            seen.add(key)
            own = option_value(self.options, value)
            out.append(value if own is None else own)
        self.selected = out
        return self

    def _is_selected(self, opt: Option) -> bool:
        return value_key(opt.value) in {value_key(v) for v in self.selected}

    def _summary(self) -> str:
        labels = [o.label for o in self.options if self._is_selected(o)]
        return ", ".join(labels) if labels else self.placeholder

    def render(self) -> str:
        """Render as ``<details>`` holding one checkbox per option."""
        details_attrs = self._control_attrs(
            ("aria-labelledby", f"{self.component_id}-label"),
            ("aria-disabled", "true" if self.disabled else None),
            ("data-pywry-placeholder", self.placeholder),
            cls="pywry-tb-multiselect",
        )
        boxes = self._option_inputs("checkbox", "pywry-tb-check")
        summary = (
            '<summary class="pywry-tb-multiselect-summary" data-pywry-summary>'
            f"{escape(self._summary())}</summary>"
        )
        menu = f'<div class="pywry-tb-multiselect-menu" role="group">{boxes}</div>'
        return self._wrap(f"{self._label_span()}<details{details_attrs}>{summary}{menu}</details>")

    def _set_value_updates(self, value: object) -> Updates:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"MultiSelect {self.component_id!r} needs a list value, got {value!r}")
        return {"selected": list(value)}

    def _reconcile_selection(self, updates: Updates) -> Updates:
        if "selected" in updates:
            return {}
        options = parse_options(updates["options"])
        return {"selected": [v for v in self.selected if contains(options, v)]}


class RadioGroup(_SingleChoice):
    """A group of radio buttons.

    Payload: ``{"value": option_value, "componentId": id}``.
    """

    kind: Literal["radio"] = "radio"
    event: str
    direction: Literal["horizontal", "vertical"] = "horizontal"

    def render(self) -> str:
        """Render as ``role="radiogroup"`` holding one radio per option."""
        group_attrs = self._control_attrs(
            ("role", "radiogroup"),
            ("aria-labelledby", f"{self.component_id}-label"),
            ("aria-disabled", "true" if self.disabled else None),
            cls=f"pywry-tb-radio-group pywry-tb-{self.direction}",
        )
        radios = self._option_inputs("radio", "pywry-tb-radio", name=self.component_id)
        return self._wrap(f"{self._label_span()}<div{group_attrs}>{radios}</div>")


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
        list_attrs = self._control_attrs(
            ("role", "tablist"),
            ("aria-labelledby", f"{self.component_id}-label" if self.label else None),
            ("aria-disabled", "true" if self.disabled else None),
            cls="pywry-tb-tabs",
        )
        tabs = []
        for opt in self.options:
            on = self._is_selected(opt)
            tab = attrs(
                [
                    ("type", "button"),
                    ("role", "tab"),
                    ("class", "pywry-tb-tab pywry-tb-active" if on else "pywry-tb-tab"),
                    ("aria-selected", "true" if on else "false"),
                    ("data-pywry-value", to_json(opt.value)),
                    ("disabled", self.disabled),
                ]
            )
            tabs.append(f"<button{tab}>{escape(opt.label)}</button>")
        return self._wrap(f"{self._label_span()}<div{list_attrs}>{''.join(tabs)}</div>")

    def _reconcile_selection(self, updates: Updates) -> Updates:
        options = parse_options(updates["options"])
        selected = updates.get("selected", self.selected)
        if selected is None or not contains(options, selected):
            return {"selected": options[0].value if options else None}
        return {}
