"""The DateInput item: a date picker whose value and bounds are ISO dates."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ValidationInfo, field_validator, model_validator

from .base import ToolbarItem, Updates
from .fields import coerce_date


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
    def _iso(cls, value: object, info: ValidationInfo) -> date | None:
        return coerce_date(value, info.field_name or "value")

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
        return self._labelled_input(
            "date",
            ("value", self.value.isoformat() if self.value else None),
            ("min", self.min.isoformat() if self.min else None),
            ("max", self.max.isoformat() if self.max else None),
            cls="pywry-tb-input pywry-tb-date",
        )

    def _set_value_updates(self, value: object) -> Updates:
        return {"value": value}
