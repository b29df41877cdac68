"""Display items: Div (the author's own HTML) and Marquee, a scrolling ticker of TickerItems.

Both are optional event sources: a click sends an event only when one is given.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Literal

from pydantic import Field, PrivateAttr, StrictBool, field_validator, model_validator

from .base import Component, ToolbarItem, Updates
from .fields import Number, OptionValue
from .ids import auto_id
from .markup import attrs, escape, num, to_json


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
        div_attrs = self._control_attrs(
            ("role", "button" if self.event else None),
            ("tabindex", "0" if self.event else None),
            ("aria-disabled", "true" if self.disabled and self.event else None),
            cls="pywry-tb-div",
        )
        label = self._label_span() if self.label else ""
        return self._wrap(f"{label}<div{div_attrs}>{self.content}</div>")

    def _set_other(self, key: str, value: object) -> Updates:
        if not isinstance(value, str):
            raise ValueError(f"text must be a string, got {value!r}")
        return {"content": html.escape(value, quote=True)}


class TickerItem(Component):
    """One entry of a Marquee: ``text`` shown, ``value`` (defaults to ``text``) sent on click.

    ``event`` overrides the marquee's event for this entry.  ``toolbar:set-value`` on a ticker's
    ``component_id`` changes its ``text`` (key ``"text"``) or its click ``value``.
    """

    kind: Literal["ticker"] = "ticker"
    text: str
    value: OptionValue | None = None
    # True from the moment a Marquee makes this ticker from a plain string until it names it
    _from_text: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _default_value(self) -> TickerItem:
        if self.value is None:
            self.value = self.text
        return self

    def render(self, marquee: Marquee | None = None) -> str:
        """Render as a ``<span>``; clickable when it (or its marquee) has an event."""
        event = self.event or (marquee.event if marquee else None)
        clickable = bool(event) and not self.disabled
        span_attrs = attrs(
            [
                ("id", self.component_id),
                ("class", "pywry-tb-ticker"),
                ("data-pywry-kind", "ticker"),
                ("data-pywry-component", self.component_id),
                ("data-pywry-event", event),
                ("data-pywry-value", to_json(self.value)),
                ("data-pywry-marquee", marquee.component_id if marquee else None),
                ("role", "button" if clickable else None),
                ("tabindex", "0" if clickable else None),
                ("aria-disabled", "true" if self.disabled and event else None),
                ("title", self.description or None),
                ("style", self.style or None),
            ]
        )
        return f"<span{span_attrs}>{escape(self.text)}</span>"

    def _set_key(self, key: str, value: object) -> Updates:
        if key in ("value", "text", "description", "disabled"):
            return {key: value}
        raise self._refuse(key)


class Marquee(ToolbarItem):
    """A scrolling ticker of ``items`` (TickerItem or plain strings).

    ``speed`` is the time in seconds of one full pass (lower is faster); ``direction`` is
    ``left`` or ``right``; ``pause_on_hover`` stops it under the mouse.  ``event`` is optional:
    clicking an entry sends ``{"value": ticker_value, "componentId": ticker_id,
    "marqueeId": marquee_id}`` under the entry's own event or else the marquee's.

    A ticker made from a plain string gets an id from the marquee's id and its place in the
    list, so repeated strings are fine; a TickerItem built without a ``component_id`` gets one
    from its own fields, so two identical ones need explicit ids.
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
        return [_text_ticker(v) if isinstance(v, str) else v for v in value]

    @model_validator(mode="after")
    def _name_text_tickers(self) -> Marquee:
        for i, ticker in enumerate(self.items):
            if ticker._from_text:
                content = {"marquee": self.component_id, "at": i}
                ticker.component_id = auto_id(None, "ticker", content)
                ticker._from_text = False
        return self

    def render(self) -> str:
        """Render as a clipped box holding an animated track of ticker spans."""
        style = f"--pywry-marquee-duration:{num(self.speed)}s;{self.style}"
        cls = f"pywry-tb-marquee pywry-tb-marquee-{self.direction}"
        if self.pause_on_hover:
            cls += " pywry-tb-marquee-pause"
        box_attrs = attrs(
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
            f'{label}<div{box_attrs}><div class="pywry-tb-marquee-track">{tickers}</div></div>'
        )


def _text_ticker(text: str) -> TickerItem:
    """A ticker for a plain string, marked for its Marquee to name."""
    ticker = TickerItem(text=text)
    ticker._from_text = True
    return ticker
