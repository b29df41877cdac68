"""The Button item: a push button whose payload is its own ``data`` dict."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from .base import ToolbarItem
from .fields import check_json
from .markup import escape, to_json


class Button(ToolbarItem):
    """A push button.

    Payload: ``{"componentId": id, **data}`` -- the ``data`` dict given here is merged into the
    payload (``componentId`` wins a clash).  ``variant`` picks a style.
    """

    kind: Literal["button"] = "button"
    event: str
    # any JSON object of the author's choosing, sent back with every click; Any because it is
    # checked with json.dumps (tuples and int keys of nested dicts are fine), not pydantic
    data: dict[str, Any] = Field(default_factory=dict)
    variant: Literal["primary", "secondary", "ghost", "danger"] = "secondary"

    @field_validator("data")
    @classmethod
    def _json_data(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"data keys must be strings, got {key!r}")
        return check_json(value, "data")

    def render(self) -> str:
        """Render as ``<button>``; the label is its text."""
        button_attrs = self._control_attrs(
            ("type", "button"),
            ("data-pywry-data", to_json(self.data) if self.data else None),
            ("disabled", self.disabled),
            cls=f"pywry-tb-button pywry-tb-button-{self.variant}",
        )
        return self._wrap(f"<button{button_attrs}>{escape(self.label)}</button>")
