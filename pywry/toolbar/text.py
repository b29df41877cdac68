"""Text items: TextInput, TextArea, SearchInput, and SecretInput, whose value stays on the server.

Text fields send their value after ``debounce`` milliseconds of quiet typing; the page does the
debouncing, the model only carries the delay in ``data-pywry-debounce``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from .base import ToolbarItem, Updates
from .fields import Debounce
from .markup import escape, typing_attrs


class _TextLike(ToolbarItem):
    """A field holding a string ``value`` with a placeholder and a typing debounce."""

    value: str = ""
    placeholder: str = ""
    debounce: Debounce = 300
    _set_keys = frozenset({"placeholder"})

    def _set_value_updates(self, value: object) -> Updates:
        return {"value": "" if value is None else value}

    def _one_line(self, input_type: str, value: str | None, cls: str) -> str:
        """A labelled one-line ``<input>`` showing ``value`` (none when None), no autocomplete."""
        return self._labelled_input(
            input_type,
            ("value", value),
            *typing_attrs(self.placeholder, self.debounce),
            ("autocomplete", "off"),
            cls=cls,
        )


class TextInput(_TextLike):
    """A one-line text field.

    Payload: ``{"value": str, "componentId": id}``, sent ``debounce`` ms after typing stops and
    at once on change (blur or Enter).
    """

    kind: Literal["text"] = "text"
    event: str

    def render(self) -> str:
        """Render as a labelled ``<input type="text">`` (``value=""`` while empty)."""
        return self._one_line("text", self.value, cls="pywry-tb-input")


class TextArea(_TextLike):
    """A multi-line text field of ``rows`` lines.

    Payload: ``{"value": str, "componentId": id}``, debounced like TextInput.
    """

    kind: Literal["textarea"] = "textarea"
    event: str
    rows: StrictInt = Field(default=3, ge=1, le=200)

    def render(self) -> str:
        """Render as a labelled ``<textarea>``."""
        area_attrs = self._control_attrs(
            ("rows", self.rows),
            *typing_attrs(self.placeholder, self.debounce),
            ("disabled", self.disabled),
            cls="pywry-tb-textarea",
        )
        return self._wrap(
            f"{self._label_for()}<textarea{area_attrs}>{escape(self.value)}</textarea>"
        )


class SearchInput(_TextLike):
    """A search field.

    Payload: ``{"value": str, "componentId": id}``, debounced like TextInput.
    """

    kind: Literal["search"] = "search"
    event: str

    def render(self) -> str:
        """Render as a labelled ``<input type="search">`` (no ``value`` while empty)."""
        return self._one_line("search", self.value or None, cls="pywry-tb-input pywry-tb-search")


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
        return self._labelled_input(
            "password",
            ("placeholder", self.placeholder or None),
            ("autocomplete", "new-password"),
            ("spellcheck", "false"),
            ("data-pywry-secret", "true"),
            cls="pywry-tb-input pywry-tb-secret",
        )

    def _set_value_updates(self, value: object) -> Updates:
        raise ValueError(
            f"SecretInput {self.component_id!r}: a secret cannot be set from Python; "
            "it is typed in the page and kept on the server"
        )
