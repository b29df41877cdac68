"""Numeric items: NumberInput, SliderInput and RangeInput, checked against ``min``/``max``/``step``.

Values outside the bounds are refused when the item is built and when ``toolbar:set-value``
changes them, so the page never shows a number its own control would not allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import StrictBool, field_validator, model_validator

from .base import ToolbarItem, Updates
from .fields import Debounce, Number
from .markup import attrs, escape, num, typing_attrs


class _Bounded(ToolbarItem):
    """Numeric min/max/step checks shared by NumberInput, SliderInput and RangeInput."""

    min: Number | None = None
    max: Number | None = None
    step: Number | None = None
    _set_keys = frozenset({"min", "max", "step"})
    #: The item's number fields, each with the bound it starts at when not given (None: none).
    _numbers: ClassVar[Mapping[str, str | None]] = {}

    @field_validator("step")
    @classmethod
    def _positive_step(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError(f"step must be > 0, got {value!r}")
        return value

    @model_validator(mode="after")
    def _numbers_in_bounds(self) -> _Bounded:
        for name, start_at in self._numbers.items():
            if getattr(self, name) is None and start_at is not None:
                setattr(self, name, getattr(self, start_at))
        self._check_bounds(**{name: getattr(self, name) for name in self._numbers})
        return self

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

    def _number_attrs(self, value: float | None) -> list[tuple[str, object]]:
        """The ``value`` and bounds attributes of an ``<input>`` holding one of the numbers."""
        return [
            ("value", num(value)),
            ("min", num(self.min)),
            ("max", num(self.max)),
            ("step", num(self.step) if self.step is not None else "any"),
        ]

    def _set_value_updates(self, value: object) -> Updates:
        return {"value": value}


class NumberInput(_Bounded):
    """A number field.

    Payload: ``{"value": number, "componentId": id}``, debounced while typing; an empty field
    sends nothing.
    """

    kind: Literal["number"] = "number"
    event: str
    value: Number | None = None
    placeholder: str = ""
    debounce: Debounce = 300
    _set_keys = frozenset({"min", "max", "step", "placeholder"})
    _numbers = {"value": None}

    def render(self) -> str:
        """Render as a labelled ``<input type="number">``."""
        return self._labelled_input(
            "number",
            *self._number_attrs(self.value),
            *typing_attrs(self.placeholder, self.debounce),
            ("inputmode", "decimal"),
            cls="pywry-tb-input pywry-tb-number",
        )


class _Track(_Bounded):
    """A bounded item drawn as slider track(s), 0..100 in steps of 1 unless told otherwise."""

    min: Number = 0
    max: Number = 100
    step: Number = 1

    def _output_attrs(self, cls: str, shown: bool, *link: tuple[str, object]) -> str:
        """Attributes of the ``<output>`` showing the current number(s), hidden unless shown."""
        return attrs(
            [
                ("class", cls),
                *link,
                ("data-pywry-display-for", self.component_id),
                ("hidden", not shown),
            ]
        )


class SliderInput(_Track):
    """A slider between ``min`` (default 0) and ``max`` (default 100).

    Payload: ``{"value": number, "componentId": id}``, sent when the slider is released.
    ``show_value`` shows the current number beside it.
    """

    kind: Literal["slider"] = "slider"
    event: str
    value: Number | None = None
    show_value: StrictBool = True
    _numbers = {"value": "min"}

    def render(self) -> str:
        """Render as a labelled ``<input type="range">`` with an ``<output>``."""
        out = self._output_attrs(
            "pywry-tb-slider-value", self.show_value, ("for", self.component_id)
        )
        return self._labelled_input(
            "range",
            *self._number_attrs(self.value),
            cls="pywry-tb-slider",
            after=f"<output{out}>{escape(num(self.value))}</output>",
        )


class RangeInput(_Track):
    """Two handles choosing a ``start``..``end`` span within ``min``..``max``.

    Payload: ``{"start": number, "end": number, "componentId": id}``, sent when a handle is
    released.  ``start``/``end`` default to ``min``/``max``.
    """

    kind: Literal["range"] = "range"
    event: str
    start: Number | None = None
    end: Number | None = None
    show_value: StrictBool = True
    _numbers = {"start": "min", "end": "max"}

    @model_validator(mode="after")
    def _start_before_end(self) -> RangeInput:
        start, end = self.start, self.end  # never None here: filled in from min and max
        if start is not None and end is not None and start > end:
            raise ValueError(f"start ({start!r}) must be <= end ({end!r})")
        return self

    def render(self) -> str:
        """Render as a group of two ``<input type="range">`` handles."""
        group_attrs = self._control_attrs(
            ("role", "group"),
            ("aria-labelledby", f"{self.component_id}-label"),
            ("aria-disabled", "true" if self.disabled else None),
            cls="pywry-tb-range",
        )
        handles = []
        for part, value in (("start", self.start), ("end", self.end)):
            handle = attrs(
                [
                    ("type", "range"),
                    ("class", f"pywry-tb-range-{part}"),
                    ("data-pywry-part", part),
                    *self._number_attrs(value),
                    ("aria-label", f"{self.label or 'Range'} {part}"),
                    ("disabled", self.disabled),
                ]
            )
            handles.append(f"<input{handle}>")
        out = self._output_attrs("pywry-tb-range-value", self.show_value)
        track = f'<div class="pywry-tb-range-track">{"".join(handles)}</div>'
        shown = f"{escape(num(self.start))} \u2013 {escape(num(self.end))}"
        return self._wrap(
            f"{self._label_span()}<div{group_attrs}>{track}<output{out}>{shown}</output></div>"
        )

    def _set_value_updates(self, value: object) -> Updates:
        if isinstance(value, dict) and set(value) <= {"start", "end"}:
            return dict(value)
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return {"start": value[0], "end": value[1]}
        raise ValueError(
            f"RangeInput {self.component_id!r} needs a value like {{'start': s, 'end': e}} "
            f"or [s, e], got {value!r}"
        )
