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
page sending the item's event back.  Give the item a ``component_id`` to refer to it::

    widget.set_toolbar_value("region-select", "north")  # validated, kept for later pages
    widget.emit("toolbar:set-value", set_value_message("region-select", "north"))  # pages only

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

Ids and copies
--------------
An item or toolbar built without a ``component_id`` gets ``tb-<event or kind>-<digest>``, the
digest taken from its fields: the same code gives the same ids in every worker process.  Each
widget keeps its own deep copy of its toolbars (:func:`copy_toolbars`), so values set on one
widget never appear in another built from the same Toolbar objects.
"""

# ``from .x import Name as Name``: importable from here as always, but not part of ``__all__``
from pywry.core.protocol import RESERVED_NAMESPACES

from .bar import POSITIONS, Toolbar
from .bar import AnyItem as AnyItem
from .bar import Position as Position
from .base import ToolbarItem
from .button import Button
from .choice import MultiSelect, RadioGroup, Select, TabGroup
from .collection import apply_set_value, collect_secret_ids, copy_toolbars
from .dates import DateInput
from .display import Div, Marquee, TickerItem
from .fields import CLASS_NAME_RE as CLASS_NAME_RE
from .fields import COMPONENT_ID_RE as COMPONENT_ID_RE
from .fields import EVENT_RE as EVENT_RE
from .fields import Number as Number
from .fields import OptionValue as OptionValue
from .fields import check_event as check_event
from .layout import TOOLBAR_CSS, TOOLBAR_JS, render_layout
from .messages import set_value_message
from .numbers import NumberInput, RangeInput, SliderInput
from .options import Option
from .switches import Checkbox, Toggle
from .text import SearchInput, SecretInput, TextArea, TextInput

__all__ = (
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
    "copy_toolbars",
    "render_layout",
    "set_value_message",
)
