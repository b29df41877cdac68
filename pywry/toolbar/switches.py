"""On/off items: Toggle (a switch) and Checkbox, both a checkbox input holding a bool."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from .base import ToolbarItem, Updates


class _BoolItem(ToolbarItem):
    """A labelled checkbox input whose ``value`` is a bool."""

    value: StrictBool = False

    def _set_value_updates(self, value: object) -> Updates:
        return {"value": value}

    def _render_check(self, input_cls: str, extra: str, role: str | None) -> str:
        input_attrs = self._control_attrs(
            ("type", "checkbox"),
            ("role", role),
            ("checked", self.value),
            ("disabled", self.disabled),
            cls=input_cls,
        )
        return self._wrap(
            f'<label class="pywry-tb-{self.kind}"><input{input_attrs}>{extra}'
            f"{self._label('span')}</label>"
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
